package dev.herd.runtime.syscall;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.memory.GuestMemory;

import java.io.PrintStream;

/**
 * {@code --strace}: one line per syscall on stderr in strace's format, arguments decoded from the
 * definition's argument spec (see {@link SyscallTable}). Lines are written whole when the call
 * returns, so concurrent threads never interleave within a line; with several threads each line
 * is prefixed with {@code [pid TID]} as strace -f does.
 */
public final class Strace {
    private static final int STRING_LIMIT = 32;

    private final PrintStream out;
    private final ThreadLocal<String> pendingArgs = new ThreadLocal<>();
    private volatile boolean multiThreaded;

    public Strace(PrintStream out) { this.out = out; }

    void enter(SyscallContext ctx, SyscallTable.Definition def, long[] args) {
        if (def.name().equals("exit") || def.name().equals("exit_group")) {
            // These never return; print now, before the process can end under us (as strace does).
            line(ctx, def.name() + "(" + (int) args[1] + ") = ?");
            return;
        }
        StringBuilder sb = new StringBuilder(64);
        String[] spec = def.argSpec();
        for (int i = 0; i < spec.length; i++) {
            if (i > 0) sb.append(", ");
            if (isOutput(spec[i])) sb.append('\u0000').append(i).append('\u0000');
            else formatArg(sb, ctx.memory(), spec[i], args, i, 0);
        }
        pendingArgs.set(sb.toString());
    }

    void exit(SyscallContext ctx, SyscallTable.Definition def, long[] args, long result) {
        String argText = pendingArgs.get();
        pendingArgs.remove();
        if (argText == null) return; // already printed at entry
        // Output arguments are decoded now that the kernel has filled them in.
        String[] spec = def.argSpec();
        for (int i = 0; i < spec.length; i++) {
            if (!isOutput(spec[i])) continue;
            StringBuilder sb = new StringBuilder();
            if (result < 0 && result >= -4095) sb.append(hex(args[i + 1]));
            else formatArg(sb, ctx.memory(), spec[i], args, i, result);
            argText = argText.replace("\u0000" + i + "\u0000", sb);
        }
        line(ctx, def.name() + "(" + argText + ") = " + formatResult(def.name(), result));
    }

    void unknown(SyscallContext ctx, String name, long[] args) {
        line(ctx, name + "(" + hex(args[1]) + ", " + hex(args[2]) + ", " + hex(args[3]) + ", "
                + hex(args[4]) + ", " + hex(args[5]) + ", " + hex(args[6]) + ") = -1 ENOSYS (not implemented by herd)");
    }

    private void line(SyscallContext ctx, String text) {
        // From the first thread creation on, lines carry the TID, as with strace -f.
        if (!multiThreaded && ctx.process().threads().count() > 1) multiThreaded = true;
        String prefix = multiThreaded ? "[pid " + ctx.tid() + "] " : "";
        out.println(prefix + text);
        out.flush();
    }

    private static boolean isOutput(String spec) { return spec.startsWith("buf_out") || spec.startsWith("iov_out"); }

    private static String formatResult(String name, long r) {
        if (r < 0 && r >= -4095) return "-1 " + Errno.name((int) -r);
        return switch (name) {
            case "mmap", "brk", "mremap", "shmat" -> hex(r);
            default -> Long.toString(r);
        };
    }

    private static void formatArg(StringBuilder sb, GuestMemory mem, String spec, long[] args, int i, long result) {
        long v = args[i + 1];
        String kind = spec;
        int colon = spec.indexOf(':');
        String param = null;
        if (colon >= 0) {
            kind = spec.substring(0, colon);
            param = spec.substring(colon + 1);
        }
        switch (kind) {
            case "int", "fd" -> sb.append((int) v);
            case "uint" -> sb.append(Integer.toUnsignedString((int) v));
            case "size" -> sb.append(Long.toUnsignedString(v));
            case "dirfd" -> sb.append((int) v == -100 ? "AT_FDCWD" : Integer.toString((int) v));
            case "path" -> quotedString(sb, mem, v, 4096);
            case "str" -> quotedString(sb, mem, v, STRING_LIMIT);
            case "buf_in", "buf_out" -> {
                if (param == null) { // a table entry without its length argument: print the pointer
                    sb.append(hex(v));
                    break;
                }
                long len = "ret".equals(param) ? result : args[Integer.parseInt(param) + 1];
                quotedBuffer(sb, mem, v, len);
            }
            case "oflags" -> sb.append(Flags.openFlags((int) v));
            case "mode" -> sb.append(String.format("0%o", (int) v));
            case "prot" -> sb.append(Flags.prot((int) v));
            case "mapflags" -> sb.append(Flags.mapFlags((int) v));
            case "atflags" -> sb.append(Flags.atFlags((int) v));
            case "whence" -> sb.append(Flags.whence((int) v));
            case "signal" -> sb.append(Flags.signal((int) v));
            case "clockid" -> sb.append(Flags.clock((int) v));
            default -> sb.append(v == 0 && "ptr".equals(kind) ? "NULL" : hex(v));
        }
    }

    private static void quotedString(StringBuilder sb, GuestMemory mem, long addr, int limit) {
        if (addr == 0) { sb.append("NULL"); return; }
        try {
            byte[] bytes = mem.readCStringBytes(addr, 4096);
            escape(sb, bytes, Math.min(bytes.length, limit));
            if (bytes.length > limit) sb.append("...");
        } catch (ErrnoException e) {
            sb.append(hex(addr));
        }
    }

    private static void quotedBuffer(StringBuilder sb, GuestMemory mem, long addr, long len) {
        if (len < 0) { sb.append(hex(addr)); return; }
        int n = (int) Math.min(len, STRING_LIMIT);
        try {
            escape(sb, mem.read(addr, n), n);
            if (len > STRING_LIMIT) sb.append("...");
        } catch (ErrnoException e) {
            sb.append(hex(addr));
        }
    }

    private static void escape(StringBuilder sb, byte[] b, int n) {
        sb.append('"');
        for (int k = 0; k < n; k++) {
            int c = b[k] & 0xff;
            switch (c) {
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '\r' -> sb.append("\\r");
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (c >= 0x20 && c < 0x7f) sb.append((char) c);
                    else sb.append(String.format("\\%o", c));
                }
            }
        }
        sb.append('"');
    }

    private static String hex(long v) { return "0x" + Long.toHexString(v); }

}
