package dev.herd.host;

/** Linux errno values (asm-generic/errno-base.h, errno.h); identical on x86_64 and aarch64. */
public final class Errno {
    private Errno() {}

    public static final int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7,
            ENOEXEC = 8, EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14,
            ENOTBLK = 15, EBUSY = 16, EEXIST = 17, EXDEV = 18, ENODEV = 19, ENOTDIR = 20, EISDIR = 21,
            EINVAL = 22, ENFILE = 23, EMFILE = 24, ENOTTY = 25, ETXTBSY = 26, EFBIG = 27, ENOSPC = 28,
            ESPIPE = 29, EROFS = 30, EMLINK = 31, EPIPE = 32, EDOM = 33, ERANGE = 34, EDEADLK = 35,
            ENAMETOOLONG = 36, ENOLCK = 37, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, ENOMSG = 42,
            ENODATA = 61, ETIME = 62, EOVERFLOW = 75, EBADFD = 77, ENOTSOCK = 88, EMSGSIZE = 90, EOPNOTSUPP = 95,
            EAFNOSUPPORT = 97, EADDRINUSE = 98, ENOBUFS = 105, ECONNREFUSED = 111, ETIMEDOUT = 110, ECANCELED = 125,
            EOWNERDEAD = 130, ERESTARTSYS = 512, ERESTARTNOINTR = 513, ERESTARTNOHAND = 514,
            ERESTART_RESTARTBLOCK = 516;

    private static final String[] NAMES = new String[134];
    static {
        String[] n = {"", "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF",
                "ECHILD", "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV",
                "ENODEV", "ENOTDIR", "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG",
                "ENOSPC", "ESPIPE", "EROFS", "EMLINK", "EPIPE", "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG",
                "ENOLCK", "ENOSYS", "ENOTEMPTY", "ELOOP", "", "ENOMSG", "EIDRM", "ECHRNG", "EL2NSYNC",
                "EL3HLT", "EL3RST", "ELNRNG", "EUNATCH", "ENOCSI", "EL2HLT", "EBADE", "EBADR", "EXFULL",
                "ENOANO", "EBADRQC", "EBADSLT", "", "EBFONT", "ENOSTR", "ENODATA", "ETIME", "ENOSR",
                "ENONET", "ENOPKG", "EREMOTE", "ENOLINK", "EADV", "ESRMNT", "ECOMM", "EPROTO",
                "EMULTIHOP", "EDOTDOT", "EBADMSG", "EOVERFLOW", "ENOTUNIQ", "EBADFD", "EREMCHG",
                "ELIBACC", "ELIBBAD", "ELIBSCN", "ELIBMAX", "ELIBEXEC", "EILSEQ", "ERESTART",
                "ESTRPIPE", "EUSERS", "ENOTSOCK", "EDESTADDRREQ", "EMSGSIZE", "EPROTOTYPE", "ENOPROTOOPT",
                "EPROTONOSUPPORT", "ESOCKTNOSUPPORT", "EOPNOTSUPP", "EPFNOSUPPORT", "EAFNOSUPPORT",
                "EADDRINUSE", "EADDRNOTAVAIL", "ENETDOWN", "ENETUNREACH", "ENETRESET", "ECONNABORTED",
                "ECONNRESET", "ENOBUFS", "EISCONN", "ENOTCONN", "ESHUTDOWN", "ETOOMANYREFS", "ETIMEDOUT",
                "ECONNREFUSED", "EHOSTDOWN", "EHOSTUNREACH", "EALREADY", "EINPROGRESS", "ESTALE",
                "EUCLEAN", "ENOTNAM", "ENAVAIL", "EISNAM", "EREMOTEIO", "EDQUOT", "ENOMEDIUM",
                "EMEDIUMTYPE", "ECANCELED", "ENOKEY", "EKEYEXPIRED", "EKEYREVOKED", "EKEYREJECTED",
                "EOWNERDEAD", "ENOTRECOVERABLE", "ERFKILL", "EHWPOISON"};
        System.arraycopy(n, 0, NAMES, 0, n.length);
    }

    /** Symbolic name such as {@code "ENOENT"}, or {@code "E<n>"} when unknown. */
    public static String name(int errno) {
        if (errno == ERESTARTSYS) return "ERESTARTSYS";
        if (errno == ERESTARTNOINTR) return "ERESTARTNOINTR";
        if (errno == ERESTARTNOHAND) return "ERESTARTNOHAND";
        if (errno == ERESTART_RESTARTBLOCK) return "ERESTART_RESTARTBLOCK";
        if (errno > 0 && errno < NAMES.length && NAMES[errno] != null && !NAMES[errno].isEmpty()) return NAMES[errno];
        return "E" + errno;
    }

    /** glibc's strerror text for the errors a user-facing message names, else {@link #name}. */
    public static String describe(int errno) {
        return switch (errno) {
            case ENOENT -> "No such file or directory";
            case EACCES -> "Permission denied";
            case ENOTDIR -> "Not a directory";
            case EISDIR -> "Is a directory";
            case ELOOP -> "Too many levels of symbolic links";
            case ENAMETOOLONG -> "File name too long";
            case ENOEXEC -> "Exec format error";
            case EXDEV -> "Invalid cross-device link";
            default -> name(errno);
        };
    }
}
