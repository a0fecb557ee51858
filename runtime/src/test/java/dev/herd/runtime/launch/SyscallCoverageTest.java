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
        SyscallTable table = LinuxSyscalls.table();
        assertEquals(java.util.List.of(), SyscallCoverage.undefined(header, table), "syscalls with no entry");
        for (SyscallTable.Definition d : table.definitions()) {
            if (d.kind() == SyscallTable.Kind.ENOSYS) assertFalse(d.reason().isBlank(), d.name());
        }
    }

    @Test
    void docsSyscallsIsCurrent() throws Exception {
        String expected = SyscallCoverage.render(SyscallCoverage.headerSyscalls(SyscallCoverage.HEADER), LinuxSyscalls.table());
        Path doc = Path.of("..", "docs", "SYSCALLS.md");
        assertTrue(Files.exists(doc), "docs/SYSCALLS.md is missing");
        assertEquals(expected, Files.readString(doc),
                "docs/SYSCALLS.md is stale: \"$JAVA_HOME\"/bin/java -cp \"$(bin/herd classpath)\" dev.herd.runtime.launch.SyscallCoverage > docs/SYSCALLS.md");
    }
}
