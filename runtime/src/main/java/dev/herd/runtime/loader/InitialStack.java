package dev.herd.runtime.loader;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Prot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Builds the initial process stack of an x86_64 Linux program exactly as the kernel's
 * {@code execve} + {@code create_elf_tables} lay it out. From high to low addresses:
 *
 * <pre>
 *   stackTop - 8        8 zero bytes (end marker)
 *                       AT_EXECFN string
 *                       envp strings (envp[0] lowest) then, below them, argv strings
 *   (align down to 16)
 *                       AT_PLATFORM string "x86_64"
 *                       16 AT_RANDOM bytes
 *   (gap of 0..15 bytes so that rsp ends 16-byte aligned)
 *                       auxv pairs ... AT_NULL
 *                       envp[0..n-1], NULL
 *                       argv[0..argc-1], NULL
 *   rsp -&gt;              argc
 * </pre>
 *
 * Linux additionally subtracts a random 0..8 KiB before the 16-byte alignment; Herd does not
 * randomise (reproducible runs).
 *
 * <h2>Stack mapping</h2>
 * The stack is a fixed {@link #DEFAULT_STACK_SIZE} (8 MiB, Linux's default RLIMIT_STACK) of
 * anonymous read-write memory (plus exec if PT_GNU_STACK asks for it) ending at
 * {@link #defaultStackTop(long)}, mapped with MAP_GROWSDOWN for /proc/self/maps' sake. Real
 * grow-down on fault is <em>not</em> emulated: the 8 MiB are all there from the start and a guest
 * that overruns them gets SIGSEGV. It is mapped with MAP_FIXED_NOREPLACE, so a collision with the
 * image is an error, never a silent overwrite.
 *
 * <h2>Auxiliary vector</h2>
 * Same entries and order as Linux 6.x on x86_64, except:
 * <ul>
 * <li>no AT_SYSINFO_EHDR: Herd has no vDSO, so libc falls back to real syscalls for
 *     clock_gettime/gettimeofday/time/getcpu (which Herd handles like any other syscall);</li>
 * <li>no AT_RSEQ_FEATURE_SIZE/AT_RSEQ_ALIGN (rseq is not offered);</li>
 * <li>AT_HWCAP: Linux reports the boot CPU's CPUID leaf 1 EDX here, so the launcher passes the
 *     leaf-1 EDX the guest's CPUID answers ({@code CpuArch.hwcap()}) with {@link Builder#hwcap(long)};
 *     a guest that compares AT_HWCAP with its own CPUID sees the same bits. The default,
 *     {@link #DEFAULT_HWCAP}, is libunicorn 2.0.1's raw leaf-1 EDX, 0x07088100 (CX8, CMOV, CLFLUSH,
 *     FXSR, SSE, SSE2), for callers that build a stack without a CPU;</li>
 * <li>AT_MINSIGSTKSZ defaults to {@link #DEFAULT_MINSIGSTKSZ} = 2048 (the uapi MINSIGSTKSZ). Linux
 *     passes its computed signal frame size there (about 1 KiB for an FXSAVE-only frame, 2.5-3.5
 *     KiB with AVX/AVX-512 XSAVE state). 2048 is an upper bound for the legacy FXSAVE frame that
 *     Herd's emulated CPU (no AVX) needs; the signals layer should pass its exact frame size if it
 *     ever grows beyond that.</li>
 * </ul>
 * AT_UID/AT_EUID/AT_GID/AT_EGID are the host's real ids (Herd does not change credentials); AT_SECURE 0.
 */
public final class InitialStack {
    private InitialStack() {}

    /** Linux's default RLIMIT_STACK. */
    public static final long DEFAULT_STACK_SIZE = 8L << 20;
    /** CPUID.1:EDX as libunicorn 2.0.1 itself reports it (see class comment). */
    public static final long DEFAULT_HWCAP = 0x07088100L;
    public static final long DEFAULT_MINSIGSTKSZ = 2048;
    /** Space kept free above the stack in large address spaces (see {@link #defaultStackTop}). */
    public static final long TOP_RESERVE = 4L << 30;
    /** Linux's MAX_ARG_STRLEN: longest single argument or environment string, NUL included. */
    public static final int MAX_ARG_STRLEN = 32 * 4096;
    /** x86_64's platform string (Linux's ELF_PLATFORM is utsname()->machine); see {@link Builder#platform}. */
    public static final String PLATFORM_X86_64 = "x86_64";

    /**
     * The address just above the initial stack for a guest space of {@code size} bytes:
     * {@code size - 4 GiB} when the space is at least 64 GiB, else {@code size - size/16}
     * (page-aligned). The reserved top is kept free of guest mappings for runtime-owned pages that
     * should sit near the stack the way Linux's vDSO/vvar do (a future vDSO, signal trampolines,
     * kernel-proxy scratch); it costs nothing, as the space is only reserved, not committed.
     */
    public static long defaultStackTop(long size) {
        long reserve = size >= (64L << 30) ? TOP_RESERVE : size / 16;
        return ElfFile.pageDown(size - reserve);
    }

    /** Starts building the stack for a loaded image in its address space. */
    public static Builder builder(GuestAddressSpace as, LoadedImage image) {
        return new Builder(Objects.requireNonNull(as), image);
    }

    /** A builder without an address space, for computing layouts in tests. */
    static Builder layoutOnly(LoadedImage image) {
        return new Builder(null, image);
    }

    /** Collects argv/envp and overrides; {@link #build()} maps and writes the stack. Not reusable. */
    public static final class Builder {
        private final GuestAddressSpace as;
        private final LoadedImage image;
        private List<byte[]> argv = List.of();
        private List<byte[]> envp = List.of();
        private byte[] execFn;
        private byte[] random;
        private long hwcap = DEFAULT_HWCAP, hwcap2 = 0, minSigStkSz = DEFAULT_MINSIGSTKSZ;
        private String platform = PLATFORM_X86_64;
        private long uid = -1, euid = -1, gid = -1, egid = -1;
        private long stackTop = -1, stackSize = DEFAULT_STACK_SIZE;

        private Builder(GuestAddressSpace as, LoadedImage image) {
            this.as = as; // null only for layout tests
            this.image = Objects.requireNonNull(image);
        }

        /** Argument strings, argv[0] first (UTF-8 encoded). */
        public Builder argv(List<String> args) { this.argv = encode(args); return this; }
        /** Argument strings as raw bytes (no NUL), for arguments that are not valid UTF-8. */
        public Builder argvBytes(List<byte[]> args) { this.argv = List.copyOf(args); return this; }
        /** Environment strings "NAME=value" (UTF-8 encoded). */
        public Builder env(List<String> env) { this.envp = encode(env); return this; }
        public Builder envBytes(List<byte[]> env) { this.envp = List.copyOf(env); return this; }
        /** The AT_EXECFN string: the path given to execve. Defaults to argv[0] (or "" without args). */
        public Builder execFn(String path) { this.execFn = path.getBytes(StandardCharsets.UTF_8); return this; }
        /** Fixed AT_RANDOM bytes (16) instead of SecureRandom ones, for reproducible runs. */
        public Builder random(byte[] sixteen) {
            if (sixteen.length != 16) throw new IllegalArgumentException("AT_RANDOM needs 16 bytes");
            this.random = sixteen.clone();
            return this;
        }
        public Builder hwcap(long v) { this.hwcap = v; return this; }
        public Builder hwcap2(long v) { this.hwcap2 = v; return this; }
        /** AT_PLATFORM's string: the architecture's name ({@code "x86_64"}, {@code "aarch64"}). */
        public Builder platform(String name) { this.platform = name; return this; }
        public Builder minSigStkSz(long v) { this.minSigStkSz = v; return this; }
        /** Credentials for AT_UID/AT_EUID/AT_GID/AT_EGID; default: the host process's. */
        public Builder ids(long uid, long euid, long gid, long egid) {
            this.uid = uid; this.euid = euid; this.gid = gid; this.egid = egid;
            return this;
        }
        /** Overrides {@link #defaultStackTop(long)} (page-aligned). */
        public Builder stackTop(long top) { this.stackTop = top; return this; }
        /** Overrides the 8 MiB stack size (page multiple, at least 64 KiB). */
        public Builder stackSize(long s) { this.stackSize = s; return this; }

        /**
         * Maps the stack and writes strings, AT_RANDOM, auxv, envp, argv and argc.
         *
         * @throws ExecFormatException "argument list too long" (Linux's E2BIG limits: one string
         *                             at most 128 KiB, all strings and pointers at most a quarter
         *                             of the stack), or the stack cannot be mapped
         */
        public StartState build() throws ExecFormatException {
            Objects.requireNonNull(as, "address space");
            long top = stackTop >= 0 ? stackTop : defaultStackTop(as.size());
            if ((top & (ElfFile.PAGE_SIZE - 1)) != 0 || (stackSize & (ElfFile.PAGE_SIZE - 1)) != 0
                    || stackSize < (64 << 10) || top - stackSize < 0 || top > as.size()) {
                throw new IllegalArgumentException("bad stack placement top=0x" + Long.toHexString(top)
                        + " size=0x" + Long.toHexString(stackSize));
            }
            Layout l = layout(top);
            long stackStart = top - stackSize;
            int prot = Prot.READ | Prot.WRITE | (image.stackExecutable() ? Prot.EXEC : 0);
            try {
                long got = as.mmap(stackStart, stackSize, prot,
                        MapFlags.PRIVATE | MapFlags.ANONYMOUS | MapFlags.FIXED_NOREPLACE | MapFlags.GROWSDOWN, -1, 0, "[stack]");
                if (got != stackStart) throw new ErrnoException(Errno.ENOMEM);
                as.memory().write(l.state().stackPointer(), l.bytes());
            } catch (ErrnoException e) {
                String why = e.errno() == Errno.EEXIST ? "it overlaps an existing mapping" : e.getMessage();
                throw new ExecFormatException(String.format("cannot map the stack at 0x%x-0x%x: %s", stackStart, top, why));
            }
            return l.state();
        }

        /** The bytes of [stackPointer, top) and the resulting state; touches no guest memory. */
        record Layout(byte[] bytes, StartState state) {}

        Layout layout(long top) throws ExecFormatException {
            byte[] fn = execFn != null ? execFn : (argv.isEmpty() ? new byte[0] : argv.getFirst());
            byte[] rnd = random != null ? random : secureRandom16();
            byte[] platform = this.platform.getBytes(StandardCharsets.US_ASCII);

            // Linux's limits (fs/exec.c): each string <= MAX_ARG_STRLEN, and strings + pointers
            // <= RLIMIT_STACK / 4.
            long total = 0;
            for (List<byte[]> l : List.of(argv, envp)) {
                for (byte[] s : l) {
                    if (s.length + 1 > MAX_ARG_STRLEN) throw new ExecFormatException("argument list too long");
                    for (byte c : s) if (c == 0) throw new IllegalArgumentException("argument or environment string contains NUL");
                    total += s.length + 1 + 8;
                }
            }
            if (total + fn.length + 1 > stackSize / 4) throw new ExecFormatException("argument list too long");

            // Pass 1: addresses, exactly as the kernel allocates them downwards.
            long p = top - 8;                              // end marker
            p -= fn.length + 1;
            long execFnAddr = p;
            long[] envAddr = new long[envp.size()];
            for (int i = envp.size() - 1; i >= 0; i--) { p -= envp.get(i).length + 1; envAddr[i] = p; }
            long[] argAddr = new long[argv.size()];
            for (int i = argv.size() - 1; i >= 0; i--) { p -= argv.get(i).length + 1; argAddr[i] = p; }
            p &= ~15L;                                     // arch_align_stack without randomisation
            p -= platform.length + 1;
            long platformAddr = p;
            p -= 16;
            long randomAddr = p;

            List<Auxv.Entry> aux = auxv(execFnAddr, platformAddr, randomAddr);
            long items = (argv.size() + 1) + (envp.size() + 1) + 1;
            long sp = (p - aux.size() * 16L - items * 8) & ~15L;
            long argvAddr = sp + 8;
            long envpAddr = argvAddr + (argv.size() + 1) * 8L;
            long auxvAddr = envpAddr + (envp.size() + 1) * 8L;

            // Pass 2: one buffer holding [sp, top), written with a single call.
            ByteBuffer b = ByteBuffer.allocate((int) (top - sp)).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(0, argv.size());
            for (int i = 0; i < argv.size(); i++) b.putLong((int) (argvAddr - sp) + i * 8, argAddr[i]);
            for (int i = 0; i < envp.size(); i++) b.putLong((int) (envpAddr - sp) + i * 8, envAddr[i]);
            int o = (int) (auxvAddr - sp);
            for (Auxv.Entry e : aux) { b.putLong(o, e.type()).putLong(o + 8, e.value()); o += 16; }
            b.put((int) (randomAddr - sp), rnd);
            b.put((int) (platformAddr - sp), platform);
            for (int i = 0; i < argv.size(); i++) b.put((int) (argAddr[i] - sp), argv.get(i));
            for (int i = 0; i < envp.size(); i++) b.put((int) (envAddr[i] - sp), envp.get(i));
            b.put((int) (execFnAddr - sp), fn);
            // NUL terminators and the end marker are the buffer's initial zeros.

            StartState st = new StartState(sp, image.startPc(), top - stackSize, top, argvAddr, envpAddr, auxvAddr,
                    execFnAddr, platformAddr, randomAddr, aux);
            return new Layout(b.array(), st);
        }

        private List<Auxv.Entry> auxv(long execFnAddr, long platformAddr, long randomAddr) {
            List<Auxv.Entry> a = new ArrayList<>(24);
            // ARCH_DLINFO first (AT_SYSINFO_EHDR omitted: no vDSO), then create_elf_tables' order.
            add(a, Auxv.AT_MINSIGSTKSZ, minSigStkSz);
            add(a, Auxv.AT_HWCAP, hwcap);
            add(a, Auxv.AT_PAGESZ, ElfFile.PAGE_SIZE);
            add(a, Auxv.AT_CLKTCK, 100);
            add(a, Auxv.AT_PHDR, image.phdrAddr());
            add(a, Auxv.AT_PHENT, image.phent());
            add(a, Auxv.AT_PHNUM, image.phnum());
            add(a, Auxv.AT_BASE, image.interpreterBase());
            add(a, Auxv.AT_FLAGS, 0);
            add(a, Auxv.AT_ENTRY, image.entry());
            add(a, Auxv.AT_UID, uid >= 0 ? uid : HostKernel.call(HostSyscall.GETUID));
            add(a, Auxv.AT_EUID, euid >= 0 ? euid : HostKernel.call(HostSyscall.GETEUID));
            add(a, Auxv.AT_GID, gid >= 0 ? gid : HostKernel.call(HostSyscall.GETGID));
            add(a, Auxv.AT_EGID, egid >= 0 ? egid : HostKernel.call(HostSyscall.GETEGID));
            add(a, Auxv.AT_SECURE, 0);
            add(a, Auxv.AT_RANDOM, randomAddr);
            add(a, Auxv.AT_HWCAP2, hwcap2);
            add(a, Auxv.AT_EXECFN, execFnAddr);
            add(a, Auxv.AT_PLATFORM, platformAddr);
            add(a, Auxv.AT_NULL, 0);
            return a;
        }
    }

    private static void add(List<Auxv.Entry> a, int type, long value) { a.add(new Auxv.Entry(type, value)); }

    private static List<byte[]> encode(List<String> l) {
        List<byte[]> r = new ArrayList<>(l.size());
        for (String s : l) r.add(s.getBytes(StandardCharsets.UTF_8));
        return r;
    }

    /**
     * 16 bytes from the host's getrandom(2), as the kernel fills AT_RANDOM ({@code SecureRandom}
     * would do the same but loads the JDK's security providers first: ~30 ms of start-up).
     */
    private static byte[] secureRandom16() {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment buf = arena.allocate(16);
            long n = HostKernel.call(HostSyscall.GETRANDOM, buf.address(), 16, 0);
            if (n == 16) return buf.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
        byte[] r = new byte[16];
        new SecureRandom().nextBytes(r);
        return r;
    }
}
