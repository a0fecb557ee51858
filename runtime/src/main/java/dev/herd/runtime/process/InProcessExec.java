package dev.herd.runtime.process;

import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.Mapping;
import dev.herd.runtime.fs.ExecFiles;
import dev.herd.runtime.fs.PathResolver;
import dev.herd.runtime.loader.ElfFile;
import dev.herd.runtime.loader.ElfLoader;
import dev.herd.runtime.loader.ExecFormatException;
import dev.herd.runtime.loader.LoadedImage;
import dev.herd.runtime.loader.StartState;
import dev.herd.runtime.mm.MemorySyscalls;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.signals.SigInfo;
import dev.herd.signals.SignalAction;
import dev.herd.signals.SignalActions;
import dev.herd.signals.Signals;
import dev.herd.signals.ThreadSignalState;
import dev.herd.threads.CpuArch;
import dev.herd.threads.GuestThread;
import dev.herd.threads.GuestThreads;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An execve made in the calling process, as the kernel makes it: the same JVM, the same host
 * thread and so the same pid (the guest's pid is its first thread's host tid), the new image
 * loaded into the emptied address space. {@link ExecSyscalls} checks everything the kernel checks
 * before the point of no return and returns those errors; then this plan runs at the thread's
 * next safe point, outside guest code: close-on-exec fds closed, caught signals back to SIG_DFL
 * (ignored ones stay, every action's flags and mask cleared), the alternate stack, POSIX timers,
 * robust list and clear-child-tid dropped, every mapping unmapped, the image and its interpreter
 * loaded, a new initial stack, /proc/self/exe and comm, and the registers Linux starts a process
 * with. What survives is what survives Linux's execve: pid, parent, children, fds without
 * close-on-exec, cwd and root, umask, limits, the signal mask and pending signals, ignored
 * signals, interval timers, the process group and session.
 *
 * <p>Only where nothing else shares the process: one thread (an execve by the first thread of
 * several ends the others first, as the kernel's de_thread), not a vfork child (whose memory is its
 * parent's), no System V segment or AIO context (whose bookkeeping an execve also ends). Otherwise,
 * or with {@code HERD_EXEC=delegate}, {@link ExecSyscalls} delegates to a child Herd as before.
 * Failing after the point of no return (an image that its checked headers promised but could not
 * be loaded) ends the process with SIGSEGV and one line, as Linux does.
 */
public final class InProcessExec {
    private final String program;
    private final int imageFd;
    private final String commandPath;
    private final List<byte[]> argv;
    private final List<byte[]> envp;

    /**
     * @param program     the host path of the image (for /proc/self/exe)
     * @param imageFd     the checked image, open; this plan owns and closes it
     * @param commandPath the path execve was given (comm and AT_EXECFN)
     */
    InProcessExec(String program, int imageFd, String commandPath, List<byte[]> argv, List<byte[]> envp) {
        this.program = program;
        this.imageFd = imageFd;
        this.commandPath = commandPath;
        this.argv = List.copyOf(argv);
        this.envp = List.copyOf(envp);
    }

    /** Whether an execve by {@code ctx}'s thread may run in its own process (see the class comment). */
    static boolean possible(SyscallContext ctx) {
        GuestProcess p = ctx.process();
        if (ctx.vfork() != null || "delegate".equals(System.getenv("HERD_EXEC"))
                || !p.sysvShm().saved().isEmpty() || !p.aio().isEmpty()) {
            return false;
        }
        return p.threads().count() == 1 || ctx.thread().tid() == p.pid();
    }

    /**
     * Makes {@code ctx}'s thread the process's only one (see {@link #endOtherThreads}); false if
     * others are still there, and then the execve is delegated.
     */
    static boolean soleThread(SyscallContext ctx) {
        return ctx.process().threads().count() == 1 || endOtherThreads(ctx);
    }

    /** How long the kernel's de_thread may take here before the execve is delegated instead. */
    private static final long DE_THREAD_NANOS = 2_000_000_000L;

    /**
     * The kernel's de_thread for an execve by the process's first thread (its tid is the pid, which
     * the image keeps): every other thread is told to exit, and this waits until they have (a
     * thread blocked in a host call is interrupted; one made meanwhile is told too). Returns
     * whether they all did within {@link #DE_THREAD_NANOS}; if not, the caller delegates the
     * execve, which ends them as well. An execve by another thread is delegated: its tid would
     * have to become the pid, and a host thread's id cannot change.
     */
    private static boolean endOtherThreads(SyscallContext ctx) {
        GuestThreads threads = ctx.process().threads();
        long deadline = System.nanoTime() + DE_THREAD_NANOS;
        while (threads.count() > 1) {
            for (GuestThread t : threads.threads()) if (t != ctx.thread()) t.requestExit();
            if (System.nanoTime() - deadline > 0) return false;
            java.util.concurrent.locks.LockSupport.parkNanos(500_000);
        }
        return true;
    }

    /** Makes the execve; on {@code ctx}'s thread at a safe point (outside guest code). */
    public void run(SyscallContext ctx) {
        try {
            replaceImage(ctx);
        } catch (IOException | ExecFormatException | RuntimeException e) {
            // Past the point of no return: the old image is gone (Linux: force_fatal_sig(SIGSEGV)).
            ctx.process().delivery().forceFault(ctx, SigInfo.kernel(Signals.SIGSEGV), new long[3],
                    "execve of " + commandPath + " failed after the point of no return: " + e.getMessage());
        } finally {
            HostKernel.call(HostSyscall.CLOSE, imageFd);
        }
    }

    private void replaceImage(SyscallContext ctx) throws IOException, ExecFormatException {
        GuestProcess process = ctx.process();
        GuestThread thread = ctx.thread();
        CpuArch cpu = thread.arch();
        GuestAddressSpace space = process.addressSpace();

        process.fds().closeOnExec();
        resetSignalActions(process.signals().actions(), process);
        ctx.signals().restoreAltStack(0, 0, ThreadSignalState.SS_DISABLE);
        process.timers().deletePosixTimers();
        ctx.robustList(0, 0);
        ctx.clearChildTid(0);

        // Every mapping goes (and with executable ones their translations and atomic sites).
        for (Mapping m : space.mappings()) MemorySyscalls.unmap(ctx, m.start(), m.end() - m.start());

        ElfFile elf = ElfFile.read(Path.of(PathResolver.procFd(imageFd)));
        List<Integer> loaderFds = new ArrayList<>();
        LoadedImage image;
        try {
            image = ElfLoader.load(space, elf, Path.of(PathResolver.procFd(imageFd)),
                    interp -> ExecFiles.openInterpreter(process.paths(), interp, loaderFds));
        } finally {
            for (int fd : loaderFds) HostKernel.call(HostSyscall.CLOSE, fd);
        }
        MemorySyscalls.scanExecutable(ctx, 0, Long.MAX_VALUE);
        StartState start = process.arch().initialStack(space, image, cpu)
                .argvBytes(argv)
                .envBytes(envp)
                .execFn(commandPath)
                .build();
        process.exePath(program);
        process.startState(start.argvAddress(), start.envpAddress(), start.auxvBytes());
        String base = commandPath.substring(commandPath.lastIndexOf('/') + 1);
        ThreadComm.set(base.isEmpty() ? program.substring(program.lastIndexOf('/') + 1) : base);

        cpu.initProcessRegisters(thread.engine(), start.pc(), start.stackPointer());
        cpu.setThreadPointer(thread.engine(), 0);
    }

    /**
     * Linux's flush_signal_handlers at exec: a caught signal goes back to SIG_DFL, an ignored one
     * stays ignored, and every action loses its flags, restorer and mask.
     */
    private static void resetSignalActions(SignalActions actions, GuestProcess process) {
        process.signals().lock().lock();
        try {
            for (int sig = 1; sig <= Signals.MAX; sig++) {
                if (sig == Signals.SIGKILL || sig == Signals.SIGSTOP) continue;
                SignalAction a = actions.get(sig);
                long handler = a.handler() == SignalAction.SIG_IGN ? SignalAction.SIG_IGN : SignalAction.SIG_DFL;
                actions.set(sig, new SignalAction(handler, 0, 0, 0));
            }
        } finally {
            process.signals().lock().unlock();
        }
    }
}
