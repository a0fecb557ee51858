package dev.herd.runtime.syscall;

import java.util.HashMap;
import java.util.Map;

/**
 * Semantic syscall definitions keyed by their Linux x86_64 name. An architecture's numbering
 * ({@link dev.herd.runtime.arch.x86_64.SyscallNumbersX86_64}) maps numbers to these names.
 *
 * <p>The argument spec is a space-separated list, one token per argument, used by {@code --strace}:
 * {@code int uint hex ptr size fd dirfd path str buf_in:N buf_out:N buf_out:ret oflags mode prot
 * mapflags atflags whence signal clockid fcntlcmd ioctlcmd iov_in:N iov_out:N}; {@code buf_in:N}
 * prints the guest buffer whose length is argument N on entry, {@code buf_out:ret} prints it on exit
 * with the result as length.
 */
public final class SyscallTable {
    /** How Herd provides a syscall (docs/SYSCALLS.md is generated from this). */
    public enum Kind {
        /** Herd's own implementation (guest state, translation, emulation on top of host calls). */
        IMPLEMENTED,
        /** The host kernel's call with guest pointers and fds translated, semantics unchanged. */
        PASSED_THROUGH,
        /** Not provided: returns -ENOSYS, with the reason in {@link Definition#reason}. */
        ENOSYS
    }

    /** A defined syscall: its name, strace argument spec, handler, kind and (for ENOSYS) why. */
    public record Definition(String name, String[] argSpec, SyscallHandler handler, Kind kind, String reason) {}

    private final Map<String, Definition> byName = new HashMap<>();

    public void define(String name, String argSpec, SyscallHandler handler) {
        add(name, argSpec, handler, Kind.IMPLEMENTED, null);
    }

    /** A syscall that is the host's own call with pointers and fds translated. */
    public void passThrough(String name, String argSpec, SyscallHandler handler) {
        add(name, argSpec, handler, Kind.PASSED_THROUGH, null);
    }

    /**
     * A syscall Herd deliberately does not provide: it returns -ENOSYS (with one warning naming
     * the reason), as a kernel built without it would.
     */
    public void unsupported(String name, String argSpec, String reason) {
        add(name, argSpec, (ctx, a, b, c, d, e, f) -> -dev.herd.host.Errno.ENOSYS, Kind.ENOSYS, reason);
    }

    /**
     * As {@link #unsupported}, without the warning: for calls that libc makes on its own and
     * falls back from cleanly (rseq at start-up, fork where posix_spawn is tried), where a warning
     * on every run would only be noise on the guest's stderr.
     */
    public void unsupportedQuietly(String name, String argSpec, String reason) {
        add(name, argSpec, (ctx, a, b, c, d, e, f) -> -dev.herd.host.Errno.ENOSYS, Kind.ENOSYS, "(quiet) " + reason);
    }

    private void add(String name, String argSpec, SyscallHandler handler, Kind kind, String reason) {
        String[] spec = words(argSpec);
        if (byName.putIfAbsent(name, new Definition(name, spec, handler, kind, reason)) != null)
            throw new IllegalStateException("syscall defined twice: " + name);
    }

    /** The whitespace-separated words of {@code s}. Not String.split("\\s+"), which compiles a
     *  regular expression per call: ~400 calls at every start, measured at several ms. */
    static String[] words(String s) {
        java.util.ArrayList<String> out = new java.util.ArrayList<>(6);
        int i = 0, n = s.length();
        while (i < n) {
            while (i < n && Character.isWhitespace(s.charAt(i))) i++;
            int start = i;
            while (i < n && !Character.isWhitespace(s.charAt(i))) i++;
            if (i > start) out.add(s.substring(start, i));
        }
        return out.toArray(new String[0]);
    }

    /** Every definition, for coverage reports. */
    public java.util.Collection<Definition> definitions() {
        return java.util.Collections.unmodifiableCollection(byName.values());
    }

    public Definition lookup(String name) { return byName.get(name); }

    private final java.util.Set<String> forwardable = new java.util.HashSet<>();

    /**
     * Marks calls whose handlers make every host call through the call's host
     * ({@code SyscallContext.host()}) or on the side of their fds, with argument memory a proxy
     * can see: only these can be forwarded to a kernel proxy. Each must be defined already.
     */
    public void forwardable(String... names) {
        for (String n : names) {
            if (!byName.containsKey(n)) throw new IllegalStateException("forwardable but not defined: " + n);
            forwardable.add(n);
        }
    }

    public boolean isForwardable(String name) { return forwardable.contains(name); }
}
