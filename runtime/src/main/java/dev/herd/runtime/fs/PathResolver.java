package dev.herd.runtime.fs;

import dev.herd.host.HostSyscall;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Guest paths resolved inside the rootfs, the way {@code openat2(RESOLVE_IN_ROOT)} does it:
 * {@code ..} and symlinks (absolute ones included) cannot leave the rootfs, because every
 * resolution is a host {@code openat2} with {@code RESOLVE_IN_ROOT} against an {@code O_PATH} fd of
 * the rootfs. (RESOLVE_IN_ROOT also refuses procfs magic links, so the host's {@code /proc/self/fd}
 * never leaks the JVM's files to a guest.)
 *
 * <p>Paths are byte strings; Java {@code String}s here carry them as ISO-8859-1 (one char per
 * byte, lossless).
 *
 * <p><b>Working directory.</b> The guest cwd is a canonical absolute path string relative to the
 * rootfs. A relative guest path is joined to it textually and resolved from the rootfs; a
 * dirfd-relative path is joined to the dirfd's current path (readlink of
 * {@code /proc/self/fd/N}, stripped of the rootfs prefix; a directory outside the rootfs counts as
 * the rootfs root). Differences from Linux, which holds the directory itself rather than its name:
 * if the cwd (or a dirfd's directory) is renamed or removed, later relative lookups follow the
 * old name; a join longer than PATH_MAX gives ENAMETOOLONG even though the guest's own string was
 * shorter.
 *
 * <p><b>chroot.</b> The guest's root is a second canonical path relative to the rootfs ("/" until
 * the guest calls chroot): absolute guest paths, and relative ones from a cwd or dirfd below it,
 * resolve with RESOLVE_IN_ROOT from that directory, so {@code ..} and absolute symlinks stop there.
 * A cwd or dirfd left outside it (Linux's classic chroot escape) resolves from the rootfs instead,
 * marked {@link #OUTSIDE} in internal paths: it climbs past the chroot as on Linux, never past the
 * rootfs.
 *
 * <p><b>openat2.</b> {@link #openResolve} maps the guest's RESOLVE_* flags onto these walks.
 *
 * <p><b>Three kinds of lookup</b>, matching what Linux does with the last component:
 * <ul>
 * <li>{@link #openIn}: open with resolution of the final symlink (unless O_NOFOLLOW), returns a
 *     host fd (always O_CLOEXEC). With {@code O_PATH} it is the basis of "follow" operations
 *     (stat, chmod, chown, access, utimes, truncate, statfs, chdir) done with {@code AT_EMPTY_PATH}
 *     or the magic link {@code /proc/self/fd/N} ({@link #procFd}) on the host.</li>
 * <li>{@link #parent}: the (confined) parent directory plus the final name, for operations that
 *     never follow the final component: mkdir, mknod, symlink, link (new name), unlink, rmdir,
 *     rename. A trailing slash stays on the name so the host applies Linux's rules for it.</li>
 * <li>{@link #noFollow}: for lookups that do not follow the final symlink (lstat, readlink,
 *     utimensat/fchownat with AT_SYMLINK_NOFOLLOW, link's old name). With a trailing slash Linux
 *     does follow, so this then resolves the whole path (confined) and returns it with an empty
 *     name; the host must never see "name/" with a symlink it would follow from the host root.</li>
 * </ul>
 * A final component of "." or ".." is always resolved confined and returned as the directory
 * itself with name ".", so the host never resolves ".." above the rootfs.
 *
 * <p><b>umask.</b> The host umask is process-wide (the JVM's), so the guest umask is kept here and
 * applied to creation modes by Herd. When the host umask would strip bits the guest wants, files
 * are created with O_EXCL and then fchmod'ed (a short window where the file has fewer permission
 * bits than asked — never more).
 *
 * <p>Thread-safe: the cwd, chroot and umask are volatile; everything else is immutable.
 */
public final class PathResolver implements AutoCloseable {
    public static final int AT_FDCWD = -100;
    /** Linux PATH_MAX, including the terminating NUL. */
    public static final int PATH_MAX = 4096;

    static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_ACCMODE = 3, O_CREAT = 0100, O_EXCL = 0200, O_NOCTTY = 0400, O_TRUNC = 01000,
            O_APPEND = 02000, O_NONBLOCK = 04000, O_DSYNC = 010000, FASYNC = 020000, O_DIRECT = 040000,
            O_LARGEFILE = 0100000, O_DIRECTORY = 0200000, O_NOFOLLOW = 0400000, O_NOATIME = 01000000,
            O_CLOEXEC = 02000000, O__SYNC = 04000000, O_PATH = 010000000, O__TMPFILE = 020000000;
    /** Flags openat2 accepts (anything else open(2) silently ignores; openat2 would say EINVAL). */
    static final int VALID_OPEN_FLAGS = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND
            | O_NONBLOCK | O__SYNC | O_DSYNC | FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW
            | O_NOATIME | O_CLOEXEC | O__TMPFILE | O_PATH;
    static final int RESOLVE_NO_XDEV = 0x01, RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04,
            RESOLVE_BENEATH = 0x08, RESOLVE_IN_ROOT = 0x10, RESOLVE_CACHED = 0x20;
    /** The RESOLVE_* flags Linux knows (anything else: openat2 says EINVAL). */
    static final long VALID_RESOLVE_FLAGS = 0x3f;
    /**
     * Marks an internal path (see {@link #absolute}) that is relative to the rootfs rather than to
     * the guest's root: a relative lookup from a cwd or dirfd outside the guest's chroot. A NUL
     * never occurs in a guest path.
     */
    static final char OUTSIDE = '\0';
    static final int AT_SYMLINK_NOFOLLOW = 0x100, AT_EACCESS = 0x200, AT_REMOVEDIR = 0x200,
            AT_SYMLINK_FOLLOW = 0x400, AT_NO_AUTOMOUNT = 0x800, AT_EMPTY_PATH = 0x1000;
    static final int X_OK = 1;
    static final int S_IFMT = 0170000, S_IFDIR = 0040000;

    /** The host process umask when this class was loaded (the JVM does not change it). */
    static final int HOST_UMASK = readHostUmask();

    private final int rootFd;
    /** Canonical host path of the rootfs without trailing slash; "" when the rootfs is "/". */
    private final String rootPrefix;
    private volatile String cwd;
    /**
     * The guest's root directory (chroot): a canonical absolute path relative to the rootfs, "/"
     * until the guest calls chroot. Held by name, like the cwd (a renamed chroot directory makes
     * later lookups fail rather than follow it).
     */
    private volatile String chroot = "/";
    private volatile int umask;

    /** A resolver for the given host rootfs directory with guest cwd "/". */
    public PathResolver(String hostRoot) {
        this(hostRoot, "/");
    }

    /** A resolver for the given host rootfs directory and initial guest cwd. */
    public PathResolver(Path hostRoot, String initialCwd) {
        this(hostRoot.toString(), initialCwd);
    }

    /**
     * A resolver for the given host rootfs directory and initial guest cwd (absolute, in guest
     * terms). Throws ErrnoException when the rootfs cannot be opened or the cwd does not resolve
     * to a searchable directory inside it.
     */
    public PathResolver(String hostRoot, String initialCwd) {
        long fd;
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            fd = HostKernel.call(HostSyscall.OPENAT, AT_FDCWD, s.cstr(hostRoot), O_PATH | O_DIRECTORY | O_CLOEXEC);
        } finally {
            s.release(m);
        }
        if (fd < 0) throw new ErrnoException((int) -fd, "rootfs " + hostRoot + ": " + Errno.name((int) -fd));
        this.rootFd = (int) fd;
        String canon = readlinkProcFd(rootFd);
        this.rootPrefix = canon.equals("/") ? "" : canon;
        this.umask = HOST_UMASK;
        this.cwd = "/";
        try {
            chdir(AT_FDCWD, initialCwd == null || initialCwd.isEmpty() ? "/" : initialCwd);
        } catch (ErrnoException e) {
            close();
            throw e;
        }
    }

    /** Host O_PATH fd of the rootfs (owned by this resolver). */
    public int rootFd() { return rootFd; }

    /** Canonical host path of the rootfs. */
    public String rootHostPath() { return rootPrefix.isEmpty() ? "/" : rootPrefix; }

    /** The guest cwd: canonical, absolute, relative to the rootfs. */
    public String cwd() { return cwd; }

    /** The guest's root directory (chroot), canonical, absolute, relative to the rootfs. */
    public String chrootPath() { return chroot; }

    /** Host path of the guest's root directory: the rootfs, or the directory the guest chrooted to. */
    public String guestRootHostPath() {
        String c = chroot;
        if (c.equals("/")) return rootHostPath();
        return rootPrefix + c;
    }

    /**
     * A rootfs-relative path as the guest sees it from its root: the part below the guest's chroot,
     * or null when the path lies outside it.
     */
    public String guestView(String rootfsPath) {
        String c = chroot;
        if (c.equals("/")) return rootfsPath;
        if (rootfsPath.equals(c)) return "/";
        if (rootfsPath.startsWith(c) && rootfsPath.length() > c.length() && rootfsPath.charAt(c.length()) == '/') {
            return rootfsPath.substring(c.length());
        }
        return null;
    }

    /**
     * A host path as the guest names it: below its root, the path from there; inside the rootfs
     * but outside a chroot, the rootfs-relative path (as Linux shows what is unreachable from a
     * process's root: from the real root); outside the rootfs, unchanged.
     */
    public String guestNameOfHostPath(String hostPath) {
        String rel;
        if (rootPrefix.isEmpty()) {
            if (!hostPath.startsWith("/")) return hostPath;
            rel = hostPath;
        } else if (hostPath.equals(rootPrefix)) {
            rel = "/";
        } else if (hostPath.startsWith(rootPrefix + "/")) {
            rel = hostPath.substring(rootPrefix.length());
        } else {
            return hostPath;
        }
        String v = guestView(rel);
        return v != null ? v : rel;
    }

    /**
     * Linux chroot on a resolved O_PATH directory fd inside the rootfs (the caller checked the
     * capability): later absolute lookups and {@code ..} at the root stop at it. The cwd is left
     * alone, as Linux does. Linux's order: ENOTDIR, EACCES (search permission), then EPERM
     * unless {@code capable} (CAP_SYS_CHROOT).
     */
    public void chroot(int dirFd, boolean capable) {
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long st = s.alloc(144);
            long r = HostKernel.call(HostSyscall.FSTAT, dirFd, st);
            if (r < 0) throw new ErrnoException((int) -r);
            if ((Scratch.getInt(st + 24) & S_IFMT) != S_IFDIR) throw new ErrnoException(Errno.ENOTDIR);
            r = HostKernel.call(HostSyscall.FACCESSAT2, dirFd, s.cstr(""), X_OK, AT_EMPTY_PATH | AT_EACCESS);
            if (r < 0) throw new ErrnoException((int) -r);
        } finally {
            s.release(m);
        }
        if (!capable) throw new ErrnoException(Errno.EPERM);
        chroot = checkedRootfsPath(dirFd);
    }

    /** Sets the guest's root to a path inside the rootfs (a child Herd after execve in a chroot). */
    public void chrootTo(String rootfsPath) {
        int fd = openat2(OUTSIDE + rootfsPath, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        try {
            chroot(fd, true);
        } finally {
            HostKernel.call(HostSyscall.CLOSE, fd);
        }
    }

    /**
     * The rootfs-relative path of a directory fd that must lie inside the rootfs (Herd resolved it
     * confined, so a path outside means it moved out meanwhile: ENOENT).
     */
    private String checkedRootfsPath(int dirFd) {
        String link = readlinkProcFd(dirFd);
        if (rootPrefix.isEmpty()) {
            if (link.startsWith("/")) return link;
        } else if (link.equals(rootPrefix)) {
            return "/";
        } else if (link.startsWith(rootPrefix + "/")) {
            return link.substring(rootPrefix.length());
        }
        throw new ErrnoException(Errno.ENOENT);
    }

    /**
     * The bytes of the guest's getcwd: the cwd as seen from the guest's root, or, for a cwd
     * outside its chroot, "(unreachable)" and the rootfs-relative path, as Linux says.
     */
    private String guestCwd() {
        String c = cwd;
        String v = guestView(c);
        return v != null ? v : "(unreachable)" + c;
    }

    public int umask() { return umask; }

    /** A resolver with the same root, chroot, cwd and umask, changed independently (a new process). */
    public PathResolver copyForChild() {
        PathResolver r = new PathResolver(rootHostPath(), "/");
        r.cwd = cwd;
        r.chroot = chroot;
        r.umask = umask;
        return r;
    }

    /** Linux umask: sets mask &amp; 0777, returns the previous one. */
    public int umask(int mask) {
        synchronized (this) {
            int old = umask;
            umask = mask & 0777;
            return old;
        }
    }

    /** "/proc/self/fd/N" for a host fd: a magic link the host follows to exactly that file. */
    public static String procFd(int hostFd) {
        return "/proc/self/fd/" + hostFd;
    }

    // ------------------------------------------------------------------ path strings

    /** Checks a guest path string: empty → ENOENT, PATH_MAX or longer → ENAMETOOLONG. */
    public static void checkPath(String path) {
        if (path.isEmpty()) throw new ErrnoException(Errno.ENOENT);
        if (path.length() >= PATH_MAX) throw new ErrnoException(Errno.ENAMETOOLONG);
    }

    /**
     * The guest path as an absolute path relative to the rootfs (not normalised: the host
     * resolves it). {@code hostDirFd} is AT_FDCWD or a host fd whose path is the base of a
     * relative {@code path}.
     */
    public String absolute(int hostDirFd, String path) {
        checkPath(path);
        if (path.charAt(0) == '/') return path;
        String base;
        if (hostDirFd == AT_FDCWD) {
            base = cwd;
        } else {
            base = guestPathOf(hostDirFd);
            if (base == null) throw new ErrnoException(Errno.ENOTDIR); // pipe, socket, anon inode
        }
        // The base is rootfs-relative: seen from the guest's root when it lies below it, else (a cwd
        // or dirfd left outside a chroot) marked OUTSIDE and resolved from the rootfs itself, where
        // ".." climbs past the chroot as on Linux, but never past the rootfs.
        String view = guestView(base);
        String prefix = view == null ? String.valueOf(OUTSIDE) : "";
        if (view == null) view = base;
        String full = view.equals("/") ? "/" + path : view + "/" + path;
        if (full.length() >= PATH_MAX) throw new ErrnoException(Errno.ENAMETOOLONG);
        return prefix + full;
    }

    /**
     * The guest path (relative to the rootfs) of a host fd's file, "/" when it lies outside the
     * rootfs, or null when the fd has no path (pipe, socket, anonymous inode).
     */
    public String guestPathOf(int hostFd) {
        String link = readlinkProcFd(hostFd);
        if (link.isEmpty() || link.charAt(0) != '/') return null;
        if (rootPrefix.isEmpty()) return link;
        if (link.equals(rootPrefix)) return "/";
        if (link.startsWith(rootPrefix) && link.charAt(rootPrefix.length()) == '/') {
            return link.substring(rootPrefix.length());
        }
        return "/";
    }

    // ------------------------------------------------------------------ opens

    /**
     * Opens a guest path confined to the rootfs and returns a host fd (O_CLOEXEC on the host).
     * Flags are Linux open flags (O_CLOEXEC is the caller's business on the guest side); the guest
     * umask is applied to creation modes.
     */
    public int openIn(int hostDirFd, String path, int flags, int mode) {
        return openAbs(absolute(hostDirFd, path), flags, mode);
    }

    int openAbs(String abs, int flags, int mode) {
        return openWith((f, md) -> openat2(abs, f, md), flags, mode);
    }

    /**
     * Guest openat2 with RESOLVE_* flags (validated by the caller; {@code resolve != 0}).
     * {@code hostDirFd} is AT_FDCWD or the host fd of the guest's dirfd, for absolute paths too.
     *
     * <p>Scoped lookups (RESOLVE_BENEATH, RESOLVE_IN_ROOT) are the host's own openat2 with the
     * guest's flags from the dirfd: a directory inside the rootfs (a dirfd outside it counts as the
     * rootfs root, as elsewhere in Herd), so the walk cannot leave the rootfs. Unscoped ones add the
     * guest's flags to Herd's RESOLVE_IN_ROOT lookup from the guest's root; for a relative
     * RESOLVE_NO_XDEV lookup from a directory on another mount than that root, the textual path
     * from the root would cross that mount, so the walk starts at the directory itself, where
     * RESOLVE_NO_XDEV alone keeps it inside that mount (mounted below the root). With the host's
     * "/" as the guest's root, a relative RESOLVE_NO_XDEV lookup is the host's unscoped one too, so
     * it keeps Linux's rule that an absolute symlink met before any ".." is EXDEV (the kernel has
     * not set the walk's root yet). Elsewhere Herd's walk always has a root: such a symlink is
     * followed when it stays on the same mount.
     */
    public int openResolve(int hostDirFd, String path, int flags, int mode, long resolve) {
        checkPath(path);
        boolean absolutePath = path.charAt(0) == '/';
        if ((resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)) != 0) {
            if (absolutePath && (resolve & RESOLVE_BENEATH) != 0) throw new ErrnoException(Errno.EXDEV);
            int start = -1;
            boolean owned = false;
            try {
                if (hostDirFd == AT_FDCWD) {
                    start = openIn(AT_FDCWD, ".", O_PATH | O_DIRECTORY, 0);
                    owned = true;
                } else {
                    start = scopedStart(hostDirFd);
                }
                int dir = start;
                return openWith((f, md) -> hostOpenat2(dir, path, f, md, resolve), flags, mode);
            } finally {
                if (owned) HostKernel.call(HostSyscall.CLOSE, start);
            }
        }
        long extra = resolve & (RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_CACHED);
        if (!absolutePath && (resolve & RESOLVE_NO_XDEV) != 0) {
            int base = hostDirFd == AT_FDCWD ? openIn(AT_FDCWD, ".", O_PATH | O_DIRECTORY, 0) : -1;
            try {
                int dir = base >= 0 ? base : hostDirFd;
                if (insideRootfs(dir)) {
                    String abs = absolute(hostDirFd, path);
                    boolean outside = abs.charAt(0) == OUTSIDE;
                    // The walk's root is the host's own "/": nothing to confine, the host's walk is Linux's.
                    boolean hostRoot = rootPrefix.isEmpty() && (outside || chroot.equals("/"));
                    long startMount = 0, dirMount = 0;
                    if (!hostRoot) {
                        int start = openAbs(outside ? String.valueOf(OUTSIDE) + "/" : "/", O_PATH | O_DIRECTORY, 0);
                        try {
                            startMount = mountId(start);
                            dirMount = mountId(dir);
                        } finally {
                            HostKernel.call(HostSyscall.CLOSE, start);
                        }
                    }
                    if (hostRoot || startMount != dirMount) {
                        long hostResolve = extra | RESOLVE_NO_MAGICLINKS;
                        return openWith((f, md) -> hostOpenat2(dir, path, f, md, hostResolve), flags, mode);
                    }
                }
            } finally {
                if (base >= 0) HostKernel.call(HostSyscall.CLOSE, base);
            }
        }
        String abs = absolute(hostDirFd, path);
        return openWith((f, md) -> openat2(abs, f, md, extra), flags, mode);
    }

    /**
     * The host fd a scoped lookup starts from for a guest dirfd: the fd itself when it is a
     * directory inside the rootfs, or anything but a directory (the host then says ENOTDIR, as
     * Linux does); the rootfs root for a directory outside the rootfs.
     */
    private int scopedStart(int hostDirFd) {
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long st = s.alloc(144);
            long r = HostKernel.call(HostSyscall.FSTAT, hostDirFd, st);
            if (r < 0) throw new ErrnoException((int) -r);
            if ((Scratch.getInt(st + 24) & S_IFMT) != S_IFDIR) return hostDirFd;
        } finally {
            s.release(m);
        }
        return insideRootfs(hostDirFd) ? hostDirFd : rootFd;
    }

    /** True when a host fd names a file inside the rootfs (by its /proc/self/fd link). */
    private boolean insideRootfs(int hostFd) {
        String link = readlinkProcFd(hostFd);
        if (link.isEmpty() || link.charAt(0) != '/') return false;
        return rootPrefix.isEmpty() || link.equals(rootPrefix) || link.startsWith(rootPrefix + "/");
    }

    /** The mount id of a host fd's file (statx STATX_MNT_ID). */
    private static long mountId(int hostFd) {
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long buf = s.alloc(256);
            long r = HostKernel.call(HostSyscall.STATX, hostFd, s.cstr(""), AT_EMPTY_PATH, 0x1000, buf);
            if (r < 0) throw new ErrnoException((int) -r);
            return Scratch.getLong(buf + 144);
        } finally {
            s.release(m);
        }
    }

    /** One host open attempt with the given (sanitized) flags and mode. */
    @FunctionalInterface
    interface Opener {
        int open(int flags, int mode);
    }

    /** Linux open semantics (the guest umask applied to creation modes) on top of raw host opens. */
    private int openWith(Opener o, int flags, int mode) {
        flags = sanitize(flags);
        boolean creating = (flags & O_CREAT) != 0 || (flags & O__TMPFILE) == O__TMPFILE;
        if (!creating) return o.open(flags, 0);
        int eff = mode & 07777 & ~umask;
        if ((eff & HOST_UMASK) == 0) return o.open(flags, eff);
        // The host umask would strip bits: create exclusively, then set the exact mode.
        if ((flags & O__TMPFILE) == O__TMPFILE || (flags & O_EXCL) != 0) {
            return fixMode(o.open(flags, eff), eff);
        }
        for (int attempt = 0; attempt < 4; attempt++) {
            try {
                return o.open(flags & ~O_CREAT, 0);
            } catch (ErrnoException e) {
                if (e.errno() != Errno.ENOENT) throw e;
            }
            try {
                return fixMode(o.open(flags | O_EXCL, eff), eff);
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EEXIST) throw e;
            }
        }
        // A dangling symlink as the final component (O_CREAT creates its target) or a persistent
        // race: plain create, host umask applies.
        return o.open(flags, eff);
    }

    private static int fixMode(int fd, int mode) {
        long r = HostKernel.call(HostSyscall.FCHMOD, fd, mode);
        if (r < 0) {
            HostKernel.call(HostSyscall.CLOSE, fd);
            throw new ErrnoException((int) -r);
        }
        return fd;
    }

    /** True when the host umask would strip bits of this (guest-umasked) creation mode. */
    static boolean hostUmaskInterferes(int effMode) {
        return (effMode & HOST_UMASK) != 0;
    }

    /**
     * After mkdir/mknod under a host umask stricter than the guest's: sets the exact mode on the
     * just-created {@code name} in {@code dirFd} without following symlinks (a single-component
     * O_NOFOLLOW lookup from a confined directory cannot leave the rootfs). The setgid bit a
     * directory inherited from its parent is kept. Best effort: errors are ignored (the object
     * exists; Linux would have succeeded).
     */
    static void fixCreatedMode(int dirFd, String name, int effMode) {
        String n = name;
        while (n.length() > 1 && n.endsWith("/")) n = n.substring(0, n.length() - 1);
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long fd = HostKernel.call(HostSyscall.OPENAT, dirFd, s.cstr(n), O_PATH | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) return;
            try {
                long st = s.alloc(144);
                if (HostKernel.call(HostSyscall.FSTAT, fd, st) < 0) return;
                int mode = Scratch.getInt(st + 24);
                if ((mode & S_IFMT) == 0120000) return; // replaced by a symlink meanwhile
                int keep = (mode & S_IFMT) == S_IFDIR ? mode & 02000 : 0;
                HostKernel.call(HostSyscall.FCHMODAT, AT_FDCWD, s.cstr(procFd((int) fd)), effMode | keep);
            } finally {
                HostKernel.call(HostSyscall.CLOSE, fd);
            }
        } finally {
            s.release(m);
        }
    }

    /** Linux open(2) ignores unknown flags and, with O_PATH, all but a few; openat2 would not. */
    static int sanitize(int flags) {
        flags &= VALID_OPEN_FLAGS;
        if ((flags & O_PATH) != 0) flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        return flags | O_CLOEXEC;
    }

    /** Confined openat2 of an internal path (see {@link #absolute}) from the guest's root. */
    private int openat2(String abs, int flags, int mode) {
        return openat2(abs, flags, mode, 0);
    }

    /**
     * Confined openat2 of an internal path with extra host RESOLVE_* flags (never scoping ones):
     * RESOLVE_IN_ROOT from the guest's root, or from the rootfs for an OUTSIDE path.
     */
    private int openat2(String abs, int flags, int mode, long resolve) {
        if (!abs.isEmpty() && abs.charAt(0) == OUTSIDE) return hostOpenat2(rootFd, abs.substring(1), flags, mode, RESOLVE_IN_ROOT | resolve);
        String c = chroot;
        if (c.equals("/")) return hostOpenat2(rootFd, abs, flags, mode, RESOLVE_IN_ROOT | resolve);
        int dir = hostOpenat2(rootFd, c, O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE_IN_ROOT);
        try {
            return hostOpenat2(dir, abs, flags, mode, RESOLVE_IN_ROOT | resolve);
        } finally {
            HostKernel.call(HostSyscall.CLOSE, dir);
        }
    }

    /**
     * Raw host openat2 from {@code dirFd}; retries the EAGAIN RESOLVE_IN_ROOT and RESOLVE_BENEATH
     * use for races, unless the caller asked for RESOLVE_CACHED (then EAGAIN is the answer).
     */
    static int hostOpenat2(int dirFd, String path, int flags, int mode, long resolve) {
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long p = s.cstr(path);
            long how = s.alloc(24);
            Scratch.putLong(how, Integer.toUnsignedLong(flags));
            Scratch.putLong(how + 8, mode);
            Scratch.putLong(how + 16, resolve);
            long r;
            int tries = 0;
            do {
                r = HostKernel.call(HostSyscall.OPENAT2, dirFd, p, how, 24);
            } while (r == -Errno.EAGAIN && (resolve & RESOLVE_CACHED) == 0 && ++tries < 64);
            if (r < 0) throw new ErrnoException((int) -r);
            return (int) r;
        } finally {
            s.release(m);
        }
    }

    // ------------------------------------------------------------------ targets

    /**
     * A host (dirfd, name) pair naming a guest file for a host *at() call. An empty name means
     * "the file dirFd itself" (pass AT_EMPTY_PATH, or use {@link #procFd}). Close it after use.
     */
    public record Target(int dirFd, String name, boolean owned) implements AutoCloseable {
        public Target(int dirFd, String name) { this(dirFd, name, true); }

        public boolean isEmptyName() { return name.isEmpty(); }

        /** Host *at() flag for a no-follow operation on this target. */
        public int noFollowFlag() { return name.isEmpty() ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW; }

        @Override public void close() { if (owned) HostKernel.call(HostSyscall.CLOSE, dirFd); }
    }

    /** The file a host fd refers to, borrowed (not closed by the target). */
    public static Target ofFd(int hostFd) {
        return new Target(hostFd, "", false);
    }

    /** Follow lookup: an O_PATH fd of the resolved file, with an empty name. */
    public Target follow(int hostDirFd, String path) {
        return new Target(openIn(hostDirFd, path, O_PATH, 0), "");
    }

    /** Parent directory + final name, for operations that never follow the final component. */
    public Target parent(int hostDirFd, String path) {
        return split(absolute(hostDirFd, path), true);
    }

    /** Lookup that does not follow a final symlink (but does with a trailing slash, like Linux). */
    public Target noFollow(int hostDirFd, String path) {
        return split(absolute(hostDirFd, path), false);
    }

    private Target split(String abs, boolean keepTrailingSlash) {
        if (!abs.isEmpty() && abs.charAt(0) == OUTSIDE) {
            return split(abs.substring(1), keepTrailingSlash, String.valueOf(OUTSIDE));
        }
        return split(abs, keepTrailingSlash, "");
    }

    private Target split(String abs, boolean keepTrailingSlash, String mark) {
        int end = abs.length();
        while (end > 1 && abs.charAt(end - 1) == '/') end--;
        boolean trailing = end < abs.length();
        String p = abs.substring(0, end);
        if (p.equals("/")) return new Target(openAbs(mark + "/", O_PATH | O_DIRECTORY, 0), ".");
        int slash = p.lastIndexOf('/');
        String dir = slash == 0 ? "/" : p.substring(0, slash);
        String name = p.substring(slash + 1);
        if (name.equals(".") || name.equals("..")) {
            return new Target(openAbs(mark + p, O_PATH | O_DIRECTORY, 0), ".");
        }
        if (trailing && !keepTrailingSlash) return new Target(openAbs(mark + p + "/", O_PATH, 0), "");
        int fd = openAbs(mark + dir, O_PATH | O_DIRECTORY, 0);
        return new Target(fd, trailing ? name + "/" : name);
    }

    // ------------------------------------------------------------------ cwd

    /** Linux chdir. */
    public void chdir(int hostDirFd, String path) {
        int fd = openIn(hostDirFd, path, O_PATH | O_DIRECTORY, 0);
        try {
            setCwdTo(fd);
        } finally {
            HostKernel.call(HostSyscall.CLOSE, fd);
        }
    }

    /** Linux fchdir on a host fd (ENOTDIR unless it is a directory). */
    public void fchdir(int hostFd) {
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long st = s.alloc(144);
            long r = HostKernel.call(HostSyscall.FSTAT, hostFd, st);
            if (r < 0) throw new ErrnoException((int) -r);
            if ((Scratch.getInt(st + 24) & S_IFMT) != S_IFDIR) throw new ErrnoException(Errno.ENOTDIR);
        } finally {
            s.release(m);
        }
        setCwdTo(hostFd);
    }

    private void setCwdTo(int dirFd) {
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long r = HostKernel.call(HostSyscall.FACCESSAT2, dirFd, s.cstr(""), X_OK, AT_EMPTY_PATH | AT_EACCESS);
            if (r < 0) throw new ErrnoException((int) -r);
        } finally {
            s.release(m);
        }
        String p = guestPathOf(dirFd);
        cwd = p == null ? "/" : p;
    }

    /** Linux getcwd semantics: the cwd bytes; the syscall returns length + 1 (ERANGE if too small). */
    public byte[] getcwdBytes() {
        return guestCwd().getBytes(StandardCharsets.ISO_8859_1);
    }

    // ------------------------------------------------------------------ readlink

    /**
     * Linux readlink of a guest path. {@code /proc/self/exe}, {@code /proc/thread-self/exe} and
     * {@code /proc/<pid>/exe} (pid = {@code ownPid}) answer {@code exePath} (with the rootfs prefix
     * removed when it lies inside the rootfs).
     */
    public byte[] readlink(int hostDirFd, String path, String exePath, long ownPid) {
        String abs = absolute(hostDirFd, path);
        if (exePath != null && isOwnExe(abs, ownPid)) {
            String e = exePath;
            if (!rootPrefix.isEmpty() && e.startsWith(rootPrefix + "/")) e = e.substring(rootPrefix.length());
            if (rootPrefix.isEmpty() || exePath.startsWith(rootPrefix + "/")) {
                String v = guestView(e);
                if (v != null) e = v;
            }
            return e.getBytes(StandardCharsets.UTF_8);
        }
        try (Target t = split(abs, false)) {
            Scratch s = Scratch.get();
            int m = s.mark();
            try {
                long buf = s.alloc(PATH_MAX);
                long r = HostKernel.call(HostSyscall.READLINKAT, t.dirFd(), s.cstr(t.name()), buf, PATH_MAX);
                if (r < 0) throw new ErrnoException((int) -r);
                return Scratch.bytes(buf, (int) r);
            } finally {
                s.release(m);
            }
        }
    }

    static boolean isOwnExe(String abs, long ownPid) {
        String n = abs.replaceAll("/+", "/").replace("/./", "/");
        return n.equals("/proc/self/exe") || n.equals("/proc/thread-self/exe")
                || n.equals("/proc/" + ownPid + "/exe");
    }

    // ------------------------------------------------------------------ host helpers

    /** readlink("/proc/self/fd/N") on the host (an ErrnoException if the fd is not open). */
    public static String readlinkProcFd(int hostFd) {
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long buf = s.alloc(PATH_MAX);
            long r = HostKernel.call(HostSyscall.READLINKAT, AT_FDCWD, s.cstr(procFd(hostFd)), buf, PATH_MAX);
            if (r < 0) throw new ErrnoException(r == -Errno.ENOENT ? Errno.EBADF : (int) -r);
            return new String(Scratch.bytes(buf, (int) r), StandardCharsets.ISO_8859_1);
        } finally {
            s.release(m);
        }
    }

    private static int readHostUmask() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Umask:")) return Integer.parseInt(line.substring(6).trim(), 8);
            }
        } catch (IOException | NumberFormatException ignored) {
            // fall through
        }
        return 022;
    }

    /** Closes the rootfs fd. */
    @Override
    public void close() {
        HostKernel.call(HostSyscall.CLOSE, rootFd);
    }
}
