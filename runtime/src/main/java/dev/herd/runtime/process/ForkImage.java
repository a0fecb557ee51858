package dev.herd.runtime.process;

import dev.herd.memory.ForkedSpace;
import dev.herd.signals.SignalAction;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a fork's child process starts from: the forking thread's registers and the process state
 * Linux's fork copies. The parent Herd writes it into a memfd; the child Herd ({@code HerdMain
 * fork}) reads it before any guest code runs. Fds named here are the child's numbers; the guest's
 * own fds are at their own numbers ({@link #guestFds}).
 *
 * @param machine       the guest's ELF machine
 * @param space         the child's memory (its memfd and shared files: the child's fd numbers)
 * @param registers     {@code CpuArch.saveThreadState} of the forking thread
 * @param resumePc      where the child's first instruction is (after the syscall)
 * @param stack         a new stack pointer (clone's), 0 for the parent's
 * @param tls           the thread pointer with CLONE_SETTLS, else {@link #NO_TLS}
 * @param setChildTid   CLONE_CHILD_SETTID's address, else 0
 * @param clearChildTid CLONE_CHILD_CLEARTID's address, else 0
 * @param guestFds      the guest's open fds
 * @param hostFds       the child's host fd holding each of {@link #guestFds}
 * @param cloexec       whether each of {@link #guestFds} is close-on-exec
 * @param actions       signal dispositions 1..64 (index 0 unused)
 * @param blocked       the forking thread's mask
 * @param altStack      its alternate stack: base, size, flags
 * @param cwd           guest cwd
 * @param chroot        guest root inside the rootfs
 * @param umask         umask
 * @param rlimits       soft, hard per resource
 * @param hostname      uts hostname
 * @param domainname    uts domain name
 * @param clockOffset   the guest wall clock's offset in ns
 * @param personality   personality(2)
 * @param comm          the forking thread's name
 * @param exePath       host path of the program
 * @param argv          guest address of argv
 * @param envp          guest address of envp
 * @param auxv          auxv bytes
 * @param atomicSites   patched atomic sites: pc → original bytes
 * @param parentPid     the parent's guest pid (the child's getppid)
 * @param parentHostPid the parent Herd's host pid (the child's host parent while it lives)
 * @param pidReportFd   the child's fd to which it writes its guest pid (4 bytes) once known
 * @param sysvShm       the System V segments, each on a memfd (the child's number)
 */
public record ForkImage(int machine, ForkedSpace space, byte[] registers, long resumePc, long stack, long tls,
                        long setChildTid, long clearChildTid, int[] guestFds, int[] hostFds, boolean[] cloexec, SignalAction[] actions,
                        long blocked, long[] altStack, String cwd, String chroot, int umask, long[][] rlimits,
                        byte[] hostname, byte[] domainname, long clockOffset, int personality, String comm,
                        String exePath, long argv, long envp, byte[] auxv, Map<Long, byte[]> atomicSites,
                        int parentPid, int parentHostPid, int pidReportFd, List<SysvSharedSegments.Saved> sysvShm) {
    /** {@link #tls} when CLONE_SETTLS was not given. */
    public static final long NO_TLS = Long.MIN_VALUE;
    private static final int MAGIC = 0x48657264; // "Herd"
    private static final int VERSION = 2;

    /**
     * The same image with every host fd it names (memory, shared files, the guest's fds, the
     * report fd) replaced by {@code received[fd]}: a warm spare receives the fds by SCM_RIGHTS, and
     * the image names them by their index in the message. (An array, not a function: a lambda's
     * first use spins a class, ~1-4 ms in every fork's child.)
     */
    public ForkImage withFds(int[] received) {
        List<ForkedSpace.File> files = new ArrayList<>();
        for (ForkedSpace.File f : space.files()) {
            files.add(new ForkedSpace.File(received[f.fd()], f.writable(), f.sizeAtMap(), f.path(), f.inode()));
        }
        ForkedSpace s = new ForkedSpace(received[space.memfd()], space.size(), space.regionCap(), space.brkStart(),
                space.brkCur(), space.mappings(), files);
        int[] hosts = new int[hostFds.length];
        for (int i = 0; i < hosts.length; i++) hosts[i] = received[hostFds[i]];
        List<SysvSharedSegments.Saved> shm = new ArrayList<>();
        for (SysvSharedSegments.Saved v : sysvShm) shm.add(v.withFd(received[v.fd()]));
        return new ForkImage(machine, s, registers, resumePc, stack, tls, setChildTid, clearChildTid, guestFds, hosts, cloexec,
                actions, blocked, altStack, cwd, chroot, umask, rlimits, hostname, domainname, clockOffset, personality, comm,
                exePath, argv, envp, auxv, atomicSites, parentPid, parentHostPid,
                pidReportFd < 0 ? pidReportFd : received[pidReportFd], shm);
    }

    /** The highest host fd number the image names (for a table that maps each to itself). */
    public int maxFd() {
        int max = Math.max(space.memfd(), pidReportFd);
        for (ForkedSpace.File f : space.files()) max = Math.max(max, f.fd());
        for (int fd : hostFds) max = Math.max(max, fd);
        for (SysvSharedSegments.Saved v : sysvShm) max = Math.max(max, v.fd());
        return max;
    }

    public byte[] toBytes() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(4096);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            out.writeInt(machine);
            out.writeInt(space.memfd());
            out.writeLong(space.size());
            out.writeInt(space.regionCap());
            out.writeLong(space.brkStart());
            out.writeLong(space.brkCur());
            out.writeInt(space.files().size());
            for (ForkedSpace.File f : space.files()) {
                out.writeInt(f.fd());
                out.writeBoolean(f.writable());
                out.writeLong(f.sizeAtMap());
                ImageCodec.writeString(out, f.path());
                out.writeLong(f.inode());
            }
            out.writeInt(space.mappings().size());
            for (ForkedSpace.Entry e : space.mappings()) {
                out.writeLong(e.start());
                out.writeLong(e.end());
                out.writeInt(e.prot());
                out.writeInt(e.flags());
                ImageCodec.writeString(out, e.name());
                out.writeLong(e.fileOffset());
                out.writeInt(e.kind());
                out.writeInt(e.file());
            }
            ImageCodec.writeBytes(out, registers);
            out.writeLong(resumePc);
            out.writeLong(stack);
            out.writeLong(tls);
            out.writeLong(setChildTid);
            out.writeLong(clearChildTid);
            out.writeInt(guestFds.length);
            for (int i = 0; i < guestFds.length; i++) {
                out.writeInt(guestFds[i]);
                out.writeInt(hostFds[i]);
                out.writeBoolean(cloexec[i]);
            }
            out.writeInt(actions.length);
            for (SignalAction a : actions) {
                SignalAction x = a == null ? SignalAction.DEFAULT : a;
                out.writeLong(x.handler());
                out.writeLong(x.flags());
                out.writeLong(x.restorer());
                out.writeLong(x.mask());
            }
            out.writeLong(blocked);
            for (int i = 0; i < 3; i++) out.writeLong(altStack[i]);
            ImageCodec.writeString(out, cwd);
            ImageCodec.writeString(out, chroot);
            out.writeInt(umask);
            out.writeInt(rlimits.length);
            for (long[] r : rlimits) {
                out.writeLong(r[0]);
                out.writeLong(r[1]);
            }
            ImageCodec.writeBytes(out, hostname);
            ImageCodec.writeBytes(out, domainname);
            out.writeLong(clockOffset);
            out.writeInt(personality);
            ImageCodec.writeString(out, comm);
            ImageCodec.writeString(out, exePath);
            out.writeLong(argv);
            out.writeLong(envp);
            ImageCodec.writeBytes(out, auxv);
            out.writeInt(atomicSites.size());
            for (Map.Entry<Long, byte[]> s : atomicSites.entrySet()) {
                out.writeLong(s.getKey());
                ImageCodec.writeBytes(out, s.getValue());
            }
            out.writeInt(parentPid);
            out.writeInt(parentHostPid);
            out.writeInt(pidReportFd);
            out.writeInt(sysvShm.size());
            for (SysvSharedSegments.Saved v : sysvShm) {
                out.writeInt(v.id());
                out.writeInt(v.key());
                out.writeLong(v.size());
                out.writeInt(v.fd());
                out.writeLong(v.inode());
                out.writeInt(v.uid());
                out.writeInt(v.gid());
                out.writeInt(v.cuid());
                out.writeInt(v.cgid());
                out.writeInt(v.mode());
                out.writeInt(v.cpid());
                out.writeInt(v.lpid());
                out.writeLong(v.atime());
                out.writeLong(v.dtime());
                out.writeLong(v.ctime());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /**
     * Reads the image from a file (the memfd a fork hands over) with pread: no file-system layer
     * that a warm spare would first have to load.
     */
    public static ForkImage fromFd(int fd) throws IOException {
        return fromBytes(bytesOf(fd));
    }

    /** The contents of an image file (a fork's or a spawn's memfd), read with pread. */
    public static byte[] bytesOf(int fd) throws IOException {
        long size = dev.herd.host.HostMm.fstatModeSize(fd)[1];
        if (size < 0 || size > 1 << 28) throw new IOException("image of " + size + " bytes");
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment buf = a.allocate(Math.max(1, size));
            long done = 0;
            while (done < size) {
                long r = dev.herd.host.HostMm.pread(fd, buf.address() + done, size - done, done);
                if (r <= 0) throw new IOException("image: short read");
                done += r;
            }
            return buf.asSlice(0, size).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }

    /** Reads {@link #toBytes}' form; IOException for anything else (a truncated or foreign file). */
    public static ForkImage fromBytes(byte[] data) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(data));
        if (in.readInt() != MAGIC || in.readInt() != VERSION) throw new IOException("not a fork image of this Herd");
        int machine = in.readInt();
        int memfd = in.readInt();
        long size = in.readLong();
        int cap = in.readInt();
        long brkStart = in.readLong(), brkCur = in.readLong();
        List<ForkedSpace.File> files = new ArrayList<>();
        for (int n = ImageCodec.count(in); n > 0; n--) {
            files.add(new ForkedSpace.File(in.readInt(), in.readBoolean(), in.readLong(), ImageCodec.readString(in), in.readLong()));
        }
        List<ForkedSpace.Entry> maps = new ArrayList<>();
        for (int n = ImageCodec.count(in); n > 0; n--) {
            maps.add(new ForkedSpace.Entry(in.readLong(), in.readLong(), in.readInt(), in.readInt(), ImageCodec.readString(in),
                    in.readLong(), in.readInt(), in.readInt()));
        }
        ForkedSpace space = new ForkedSpace(memfd, size, cap, brkStart, brkCur, maps, files);
        byte[] registers = ImageCodec.readBytes(in);
        long resumePc = in.readLong(), stack = in.readLong(), tls = in.readLong();
        long setChildTid = in.readLong(), clearChildTid = in.readLong();
        int nfds = ImageCodec.count(in);
        int[] fds = new int[nfds], hosts = new int[nfds];
        boolean[] cloexec = new boolean[nfds];
        for (int i = 0; i < nfds; i++) {
            fds[i] = in.readInt();
            hosts[i] = in.readInt();
            cloexec[i] = in.readBoolean();
        }
        SignalAction[] actions = new SignalAction[ImageCodec.count(in)];
        for (int i = 0; i < actions.length; i++) {
            actions[i] = new SignalAction(in.readLong(), in.readLong(), in.readLong(), in.readLong());
        }
        long blocked = in.readLong();
        long[] alt = {in.readLong(), in.readLong(), in.readLong()};
        String cwd = ImageCodec.readString(in), chroot = ImageCodec.readString(in);
        int umask = in.readInt();
        long[][] rl = new long[ImageCodec.count(in)][];
        for (int i = 0; i < rl.length; i++) rl[i] = new long[] {in.readLong(), in.readLong()};
        byte[] hostname = ImageCodec.readBytes(in), domainname = ImageCodec.readBytes(in);
        long clockOffset = in.readLong();
        int personality = in.readInt();
        String comm = ImageCodec.readString(in), exePath = ImageCodec.readString(in);
        long argv = in.readLong(), envp = in.readLong();
        byte[] auxv = ImageCodec.readBytes(in);
        Map<Long, byte[]> sites = new LinkedHashMap<>();
        for (int n = ImageCodec.count(in); n > 0; n--) sites.put(in.readLong(), ImageCodec.readBytes(in));
        int parentPid = in.readInt(), parentHostPid = in.readInt(), report = in.readInt();
        List<SysvSharedSegments.Saved> shm = new ArrayList<>();
        for (int n = ImageCodec.count(in); n > 0; n--) {
            shm.add(new SysvSharedSegments.Saved(in.readInt(), in.readInt(), in.readLong(), in.readInt(), in.readLong(),
                    in.readInt(), in.readInt(), in.readInt(), in.readInt(), in.readInt(), in.readInt(), in.readInt(),
                    in.readLong(), in.readLong(), in.readLong()));
        }
        return new ForkImage(machine, space, registers, resumePc, stack, tls, setChildTid, clearChildTid, fds, hosts, cloexec,
                actions, blocked, alt, cwd, chroot, umask, rl, hostname, domainname, clockOffset, personality, comm,
                exePath, argv, envp, auxv, sites, parentPid, parentHostPid, report, shm);
    }
}
