import dev.herd.Herd;
import dev.herd.Intercept;
import dev.herd.Syscalls;

/**
 * A strace-like tracer built on syscall hooks: one line per completed syscall on stderr,
 * "[tid] name(arg0, arg1, arg2) = result". The guest keeps the JVM's stdin/stdout/stderr.
 *
 * <pre>
 * javac -cp "$(bin/herd classpath)" -d /tmp/ex examples/SyscallTracer.java
 * java --enable-native-access=ALL-UNNAMED -cp "$(bin/herd classpath):/tmp/ex" SyscallTracer PROGRAM [ARGS...]
 * </pre>
 */
public final class SyscallTracer {
    private SyscallTracer() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: SyscallTracer PROGRAM [ARGS...]");
            System.exit(2);
        }
        String[] guestArgs = java.util.Arrays.copyOfRange(args, 1, args.length);
        try (Herd herd = Herd.builder().program(args[0], guestArgs).build()) {
            for (int nr = 0; nr < 512; nr++) {
                if (Syscalls.name(nr) == null) continue;
                // EXIT hooks see the arguments and the result; exit/exit_group never return, so
                // they are traced on ENTER.
                boolean noReturn = Syscalls.name(nr).equals("exit") || Syscalls.name(nr).equals("exit_group");
                herd.setSyscall(nr, noReturn ? Intercept.ENTER : Intercept.EXIT, ev -> {
                    String line = "[" + ev.tid() + "] " + ev.name() + "(" + ev.arg(0) + ", " + ev.arg(1) + ", " + ev.arg(2)
                            + ")" + (ev.phase() == Intercept.EXIT ? " = " + ev.returnValue() : "");
                    System.err.println(line);
                });
            }
            System.exit(herd.run());
        }
    }
}
