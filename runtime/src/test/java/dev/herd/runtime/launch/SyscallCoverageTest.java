package dev.herd.runtime.launch;

import static org.junit.jupiter.api.Assertions.*;

import dev.herd.runtime.syscall.SyscallTable;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every syscall of Debian's x86_64 header is either provided or ENOSYS with a stated reason, and
 * docs/SYSCALLS.md is what {@link SyscallCoverage} generates from the current table.
 */
class SyscallCoverageTest {
    @Test
    void everyHeaderSyscallIsProvidedOrJustified() throws Exception {
        Map<Integer, String> header = SyscallCoverage.headerSyscalls(SyscallCoverage.HEADER);
        assertTrue(header.size() >= 362, "header read: " + header.size());
        SyscallTable table = LinuxSyscalls.table(dev.herd.runtime.loader.ElfFile.Machine.X86_64);
        assertEquals(java.util.List.of(), SyscallCoverage.undefined(header, table), "syscalls with no entry");
        for (SyscallTable.Definition d : table.definitions()) {
            if (d.kind() == SyscallTable.Kind.ENOSYS) assertFalse(d.reason().isBlank(), d.name());
        }
    }

    /** The same for aarch64: every call of arm64's (generic) numbering has an entry in its table. */
    @Test
    void everyAarch64SyscallIsProvidedOrJustified() {
        var numbering = dev.herd.runtime.arch.aarch64.SyscallNumbersAarch64.INSTANCE;
        Map<Integer, String> calls = new java.util.TreeMap<>();
        for (int nr = 0; nr < numbering.count(); nr++) if (numbering.name(nr) != null) calls.put(nr, numbering.name(nr));
        assertTrue(calls.size() >= 300, "arm64 calls: " + calls.size());
        assertEquals(java.util.List.of(), SyscallCoverage.undefined(calls,
                LinuxSyscalls.table(dev.herd.runtime.loader.ElfFile.Machine.AARCH64)), "arm64 syscalls with no entry");
    }

    /** --strace prints a buffer with the length argument its spec names ("buf_in:2"); one without crashed the guest. */
    @Test
    void everyBufferArgumentNamesItsLength() {
        for (SyscallTable.Definition d : LinuxSyscalls.table(dev.herd.runtime.loader.ElfFile.Machine.X86_64).definitions()) {
            for (String spec : d.argSpec()) {
                if (spec.startsWith("buf_in") || spec.startsWith("buf_out")) {
                    assertTrue(spec.matches("buf_(in|out):(ret|[0-5])"), d.name() + ": " + spec);
                }
            }
        }
    }

    @Test
    void docsSyscallsIsCurrent() throws Exception {
        String expected = SyscallCoverage.render(SyscallCoverage.headerSyscalls(SyscallCoverage.HEADER), LinuxSyscalls.table(dev.herd.runtime.loader.ElfFile.Machine.X86_64));
        Path doc = Path.of("..", "docs", "SYSCALLS.md");
        assertTrue(Files.exists(doc), "docs/SYSCALLS.md is missing");
        assertEquals(expected, Files.readString(doc),
                "docs/SYSCALLS.md is stale: \"$JAVA_HOME\"/bin/java -cp \"$(bin/herd classpath)\" dev.herd.runtime.launch.SyscallCoverage > docs/SYSCALLS.md");
    }
}
