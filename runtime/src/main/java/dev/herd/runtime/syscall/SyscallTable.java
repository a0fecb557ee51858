package dev.herd.runtime.syscall;

import java.util.HashMap;
import java.util.Map;

/**
 * Semantic syscall definitions keyed by their Linux x86_64 name. An architecture's numbering
 * ({@link dev.herd.runtime.syscall.x86_64.SyscallNumbersX86_64}) maps numbers to these names.
 *
 * <p>The argument spec is a space-separated list, one token per argument, used by {@code --strace}:
 * {@code int uint hex ptr size fd dirfd path str buf_in:N buf_out:N buf_out:ret oflags mode prot
 * mapflags atflags whence signal clockid fcntlcmd ioctlcmd iov_in:N iov_out:N}; {@code buf_in:N}
 * prints the guest buffer whose length is argument N on entry, {@code buf_out:ret} prints it on exit
 * with the result as length.
 */
public final class SyscallTable {
    /** A defined syscall: its name, strace argument spec and handler. */
    public record Definition(String name, String[] argSpec, SyscallHandler handler) {}

    private final Map<String, Definition> byName = new HashMap<>();

    public void define(String name, String argSpec, SyscallHandler handler) {
        String[] spec = argSpec.isBlank() ? new String[0] : argSpec.trim().split("\\s+");
        if (byName.putIfAbsent(name, new Definition(name, spec, handler)) != null)
            throw new IllegalStateException("syscall defined twice: " + name);
    }

    public Definition lookup(String name) { return byName.get(name); }
}
