package dev.herd.runtime.syscall;

/**
 * One syscall as interceptors see it: the calling thread's context, the number and name, the six
 * arguments (changeable before the call) and the result (settable: by a CALL interceptor instead
 * of the call, by an EXIT interceptor after it). Used on one guest thread only.
 */
public final class InterceptedCall {
    private final SyscallContext context;
    private final long number;
    private final String name;
    private final long[] args;
    private long result;
    private boolean resultSet;

    InterceptedCall(SyscallContext context, long number, String name, long[] args) {
        this.context = context;
        this.number = number;
        this.name = name;
        this.args = args;
    }

    public SyscallContext context() { return context; }
    public long number() { return number; }
    public String name() { return name; }
    /** Argument {@code i} (0-5). */
    public long arg(int i) { return args[i + 1]; }
    public void arg(int i, long value) { args[i + 1] = value; }
    public long result() { return result; }
    /** Sets the result the guest sees (CALL: instead of running the syscall; EXIT: replacing it). */
    public void result(long value) {
        result = value;
        resultSet = true;
    }
    boolean resultSet() { return resultSet; }
    void resultFromCall(long value) { result = value; }
}
