package dev.herd.runtime.syscall;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

class SyscallTableTest {
    @Test
    void argumentSpecsSplitAtWhitespaceRuns() {
        assertArrayEquals(new String[0], SyscallTable.words(""));
        assertArrayEquals(new String[0], SyscallTable.words("  \t "));
        assertArrayEquals(new String[] {"fd", "buf", "count"}, SyscallTable.words("fd buf count"));
        assertArrayEquals(new String[] {"dirfd:fd", "path:str"}, SyscallTable.words("  dirfd:fd \t\n path:str  "));
        for (String s : new String[] {"a", " a b ", "x\ty\nz", "one  two   three"})
            assertArrayEquals(s.trim().split("\\s+"), SyscallTable.words(s), s);
    }
}
