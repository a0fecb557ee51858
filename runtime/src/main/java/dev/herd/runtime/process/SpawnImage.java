package dev.herd.runtime.process;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * What a vfork child's execve hands a warm fork spare ({@link ForkSpare#spawn}): the new image and
 * what execve keeps, the same state a cold child Herd gets on its command line
 * ({@link ChildHerd#command}). The spare receives the fds by SCM_RIGHTS; this names them by their
 * index in the message ({@link #hostFds}, {@link #programFd}).
 *
 * @param program      host path of the checked image (names it; the spare reads {@link #programFd})
 * @param programFd    the image, open
 * @param argv         the new image's argv, argv[0] included
 * @param env          its environment
 * @param hostCwd      the guest's cwd as a host path, where the spare's process moves
 * @param chroot       the guest's root inside the rootfs
 * @param umask        umask
 * @param rlimits      soft, hard per resource
 * @param ignored      signals ignored across the exec, as a mask
 * @param blocked      the blocked mask across the exec
 * @param parentPid    the new image's getppid (the vfork child's parent)
 * @param parentHostPid the parent Herd's host pid
 * @param guestFds     the guest fds the image has open (0-2 among them if open)
 * @param hostFds      the index of each of {@link #guestFds}' host fd in the message
 * @param newSession   the vfork child asked for a session of its own (setsid)
 * @param hostGroup    the host process group it asked to join: -1 none, 0 one of its own
 */
public record SpawnImage(String program, int programFd, List<byte[]> argv, List<byte[]> env, byte[] hostCwd,
                         String chroot, int umask, long[][] rlimits, long ignored, long blocked, int parentPid,
                         int parentHostPid, int[] guestFds, int[] hostFds, boolean newSession, int hostGroup) {
    private static final int MAGIC = 0x48737077; // "Hspw"
    private static final int VERSION = 1;

    /** Whether {@code data} starts like {@link #toBytes}' form (and not like a {@link ForkImage}). */
    public static boolean is(byte[] data) {
        return data.length >= 4 && ((data[0] & 0xff) << 24 | (data[1] & 0xff) << 16 | (data[2] & 0xff) << 8 | (data[3] & 0xff)) == MAGIC;
    }

    /** The same image with each fd index replaced by {@code received[index]}. */
    public SpawnImage withFds(int[] received) {
        int[] hosts = new int[hostFds.length];
        for (int i = 0; i < hosts.length; i++) hosts[i] = received[hostFds[i]];
        return new SpawnImage(program, received[programFd], argv, env, hostCwd, chroot, umask, rlimits, ignored, blocked,
                parentPid, parentHostPid, guestFds, hosts, newSession, hostGroup);
    }

    /** The host fd holding guest fd {@code guest}, or -1 if the image does not have it. */
    public int hostFdOf(int guest) {
        for (int i = 0; i < guestFds.length; i++) if (guestFds[i] == guest) return hostFds[i];
        return -1;
    }

    public byte[] toBytes() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(4096);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            ImageCodec.writeBytes(out, program.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            out.writeInt(programFd);
            ImageCodec.writeList(out, argv);
            ImageCodec.writeList(out, env);
            ImageCodec.writeBytes(out, hostCwd);
            ImageCodec.writeBytes(out, chroot.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            out.writeInt(umask);
            out.writeInt(rlimits.length);
            for (long[] l : rlimits) {
                out.writeLong(l[0]);
                out.writeLong(l[1]);
            }
            out.writeLong(ignored);
            out.writeLong(blocked);
            out.writeInt(parentPid);
            out.writeInt(parentHostPid);
            out.writeInt(guestFds.length);
            for (int i = 0; i < guestFds.length; i++) {
                out.writeInt(guestFds[i]);
                out.writeInt(hostFds[i]);
            }
            out.writeBoolean(newSession);
            out.writeInt(hostGroup);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** Reads {@link #toBytes}' form; IOException for anything else (a truncated or foreign file). */
    public static SpawnImage fromBytes(byte[] data) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(data));
        if (in.readInt() != MAGIC || in.readInt() != VERSION) throw new IOException("not a spawn image of this Herd");
        String program = new String(ImageCodec.readPresentBytes(in), java.nio.charset.StandardCharsets.UTF_8);
        int programFd = in.readInt();
        List<byte[]> argv = ImageCodec.readList(in), env = ImageCodec.readList(in);
        byte[] cwd = ImageCodec.readPresentBytes(in);
        String chroot = new String(ImageCodec.readPresentBytes(in), java.nio.charset.StandardCharsets.UTF_8);
        int umask = in.readInt();
        long[][] rl = new long[ImageCodec.count(in)][];
        for (int i = 0; i < rl.length; i++) rl[i] = new long[] {in.readLong(), in.readLong()};
        long ignored = in.readLong(), blocked = in.readLong();
        int parentPid = in.readInt(), parentHostPid = in.readInt();
        int n = ImageCodec.count(in);
        int[] guest = new int[n], host = new int[n];
        for (int i = 0; i < n; i++) {
            guest[i] = in.readInt();
            host[i] = in.readInt();
        }
        boolean session = in.readBoolean();
        int group = in.readInt();
        return new SpawnImage(program, programFd, argv, env, cwd, chroot, umask, rl, ignored, blocked, parentPid, parentHostPid,
                guest, host, session, group);
    }
}
