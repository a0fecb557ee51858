package dev.herd;

/**
 * A user hook on a syscall, registered with {@link Herd#setSyscall}. It runs on the guest thread
 * that made the call, concurrently with the hooks of other guest threads, so it must be
 * thread-safe. Anything it throws ends the run: {@link Herd#run()} and {@link HerdRun#await()}
 * then throw a {@link HookFailedException} with it as the cause; the JVM and other runs go on.
 */
@FunctionalInterface
public interface SyscallHook {
    /**
     * Called for each matching syscall.
     *
     * @param event the call; valid only during this invocation
     * @throws Exception to end the run with a {@link HookFailedException}
     */
    void onSyscall(SyscallEvent event) throws Exception;
}
