package dev.herd.runtime.process;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * The System V shared-memory segments of one run: Linux's ipc namespace for shm, kept by Herd.
 * Each segment's memory is a memfd of its own, attached (shmat) as a MAP_SHARED mapping of that
 * memfd, so mprotect, munmap, mremap and /proc/self/maps treat attachments like any shared file
 * mapping. Ids follow Linux's scheme ({@code seq << 15 | index}, lowest free index first), so a
 * removed segment's id is not reused at once.
 *
 * <p>Not shared with host processes: a segment exists for this run only (another process that
 * asks for the same key gets the host's own segment, not this one), which is the deviation
 * docs/SYSCALLS.md states. A fork's child starts with a copy of the table ({@link #saved},
 * {@link #restore}): the same ids, keys, permissions and memory, so a child attaches, stats or
 * removes by id what existed at the fork; from then on each process's table is its own (a segment
 * made, or marked for removal, in one is not seen by the other). Thread-safe: every method holds
 * this object's lock.
 */
public final class SysvSharedSegments {
    /** Linux's IPCMNI_SHIFT: the index takes the low 15 bits of an id. */
    public static final int INDEX_BITS = 15;
    public static final int IPC_PRIVATE = 0;
    /** mode bits Linux shows in shm_perm.mode: marked for removal, locked in memory. */
    public static final int SHM_DEST = 01000, SHM_LOCKED = 02000;

    /** One segment: the fields of struct shmid64_ds (times in seconds) and its memfd. */
    public static final class Segment {
        public final int id;
        public int key;
        public final long size;
        public final int memfd;
        public final long inode;
        public int uid, gid;
        public final int cuid, cgid;
        public int mode;
        public final int cpid;
        public int lpid;
        public long atime, dtime, ctime;

        Segment(int id, int key, long size, int memfd, long inode, int uid, int gid, int mode, int cpid, long now) {
            this(id, key, size, memfd, inode, uid, gid, uid, gid, mode, cpid, now);
        }

        Segment(int id, int key, long size, int memfd, long inode, int uid, int gid, int cuid, int cgid, int mode, int cpid,
                long now) {
            this.id = id;
            this.key = key;
            this.size = size;
            this.memfd = memfd;
            this.inode = inode;
            this.uid = uid;
            this.gid = gid;
            this.cuid = cuid;
            this.cgid = cgid;
            this.mode = mode;
            this.cpid = cpid;
            this.ctime = now;
        }

        public int index() { return id & ((1 << INDEX_BITS) - 1); }
        public boolean removed() { return (mode & SHM_DEST) != 0; }
    }

    /** One segment as a fork's image carries it ({@code fd}: its memfd, a number the image maps). */
    public record Saved(int id, int key, long size, int fd, long inode, int uid, int gid, int cuid, int cgid, int mode,
                        int cpid, int lpid, long atime, long dtime, long ctime) {
        public Saved withFd(int newFd) {
            return new Saved(id, key, size, newFd, inode, uid, gid, cuid, cgid, mode, cpid, lpid, atime, dtime, ctime);
        }
    }

    /** Every segment, for a fork's child. */
    public synchronized List<Saved> saved() {
        List<Saved> out = new ArrayList<>();
        for (Segment s : byIndex) {
            if (s == null) continue;
            out.add(new Saved(s.id, s.key, s.size, s.memfd, s.inode, s.uid, s.gid, s.cuid, s.cgid, s.mode, s.cpid, s.lpid,
                    s.atime, s.dtime, s.ctime));
        }
        return out;
    }

    /**
     * A fork's child: the parent's segments at their ids, each on its memfd here ({@code fd},
     * owned by the table from now on); new ids continue past the highest sequence seen.
     */
    public synchronized void restore(List<Saved> segments) {
        for (Saved v : segments) {
            int index = v.id() & ((1 << INDEX_BITS) - 1);
            while (byIndex.size() <= index) byIndex.add(null);
            Segment s = new Segment(v.id(), v.key(), v.size(), v.fd(), v.inode(), v.uid(), v.gid(), v.cuid(), v.cgid(),
                    v.mode(), v.cpid(), v.ctime());
            s.lpid = v.lpid();
            s.atime = v.atime();
            s.dtime = v.dtime();
            byIndex.set(index, s);
            seq = Math.max(seq, ((v.id() >>> INDEX_BITS) & 0xffff) + 1);
        }
    }

    private final List<Segment> byIndex = new ArrayList<>();
    private int seq;

    /** The live segment with this key (never IPC_PRIVATE), or null. */
    public synchronized Segment byKey(int key) {
        if (key == IPC_PRIVATE) return null;
        for (Segment s : byIndex) if (s != null && s.key == key && !s.removed()) return s;
        return null;
    }

    /** The segment with this id (index and sequence both match), or null. */
    public synchronized Segment byId(long id) {
        if (id < 0 || id > Integer.MAX_VALUE) return null;
        int index = (int) id & ((1 << INDEX_BITS) - 1);
        Segment s = index < byIndex.size() ? byIndex.get(index) : null;
        return s != null && s.id == id ? s : null;
    }

    /** The segment at this index (SHM_STAT), or null. */
    public synchronized Segment byIndex(long index) {
        return index >= 0 && index < byIndex.size() ? byIndex.get((int) index) : null;
    }

    /** Adds a segment at the lowest free index; null when maxSegments are in use. */
    public synchronized Segment add(int key, long size, int memfd, long inode, int uid, int gid, int mode, int cpid,
                                    long now, int maxSegments) {
        int index = byIndex.indexOf(null);
        if (index < 0) {
            if (byIndex.size() >= maxSegments) return null;
            index = byIndex.size();
            byIndex.add(null);
        }
        int id = ((seq++ & 0xffff) << INDEX_BITS) | index;
        Segment s = new Segment(id, key, size, memfd, inode, uid, gid, mode, cpid, now);
        byIndex.set(index, s);
        return s;
    }

    /** Removes a segment from the table (its memfd is the caller's to close). */
    public synchronized void remove(Segment s) {
        if (byIndex.get(s.index()) == s) byIndex.set(s.index(), null);
    }

    /** The highest index in use, or -1: what IPC_INFO and SHM_INFO return. */
    public synchronized int highestIndex() {
        for (int i = byIndex.size() - 1; i >= 0; i--) if (byIndex.get(i) != null) return i;
        return -1;
    }

    /** Live segments and their total size in pages (SHM_INFO). */
    public synchronized long[] usage() {
        long ids = 0, pages = 0;
        for (Segment s : byIndex) {
            if (s == null) continue;
            ids++;
            pages += (s.size + 4095) / 4096;
        }
        return new long[] {ids, pages};
    }

    /**
     * Segments marked for removal that nothing has attached any more (nattch counts the
     * attachments still mapped): taken out of the table and returned so the caller closes them.
     */
    public synchronized List<Segment> sweep(ToIntFunction<Segment> nattch) {
        List<Segment> gone = new ArrayList<>();
        for (int i = 0; i < byIndex.size(); i++) {
            Segment s = byIndex.get(i);
            if (s != null && s.removed() && nattch.applyAsInt(s) == 0) {
                byIndex.set(i, null);
                gone.add(s);
            }
        }
        return gone;
    }
}
