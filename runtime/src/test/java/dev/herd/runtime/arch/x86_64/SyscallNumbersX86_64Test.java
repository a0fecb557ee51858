package dev.herd.runtime.arch.x86_64;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class SyscallNumbersX86_64Test {
    @Test
    void tableMatchesKernelHeader() throws Exception {
        Path header = Path.of("/usr/include/x86_64-linux-gnu/asm/unistd_64.h");
        assumeTrue(Files.exists(header), "linux-libc-dev not installed");
        Pattern p = Pattern.compile("#define __NR_(\\w+)\\s+(\\d+)");
        Map<Integer, String> expected = new HashMap<>();
        for (String line : Files.readAllLines(header)) {
            Matcher m = p.matcher(line);
            if (m.find()) expected.put(Integer.parseInt(m.group(2)), m.group(1));
        }
        int max = expected.keySet().stream().mapToInt(Integer::intValue).max().orElseThrow();
        assertEquals(max + 1, SyscallNumbersX86_64.INSTANCE.count());
        for (int nr = 0; nr <= max + 5; nr++) assertEquals(expected.get(nr), SyscallNumbersX86_64.INSTANCE.name(nr), "nr " + nr);
    }
}
