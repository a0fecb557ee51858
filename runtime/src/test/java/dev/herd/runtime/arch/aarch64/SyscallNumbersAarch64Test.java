package dev.herd.runtime.arch.aarch64;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class SyscallNumbersAarch64Test {
    /**
     * Every __NR_ name of arm64's asm/unistd.h, expanded by the cross preprocessor (the generic
     * header defines the 64-bit calls through __NR3264_* macros and arithmetic on
     * __NR_arch_specific_syscall), against the table.
     */
    @Test
    void tableMatchesKernelHeader() throws Exception {
        assumeTrue(Files.exists(Path.of("/usr/aarch64-linux-gnu/include/asm/unistd.h")), "libc6-dev-arm64-cross not installed");
        String defines = run("#include <asm/unistd.h>\n", "-dM");
        StringBuilder probe = new StringBuilder("#include <asm/unistd.h>\n");
        Matcher d = Pattern.compile("#define __NR_(\\w+) ").matcher(defines);
        while (d.find()) {
            if (!d.group(1).equals("syscalls") && !d.group(1).equals("arch_specific_syscall")) {
                probe.append("HERDNR ").append(d.group(1)).append(" __NR_").append(d.group(1)).append('\n');
            }
        }
        Map<Integer, String> expected = new HashMap<>();
        Matcher m = Pattern.compile("HERDNR (\\w+) \\(?([0-9]+)\\+?\\(?([0-9]*)\\)?\\)?").matcher(run(probe.toString(), "-P"));
        while (m.find()) {
            int nr = Integer.parseInt(m.group(2)) + (m.group(3).isEmpty() ? 0 : Integer.parseInt(m.group(3)));
            expected.put(nr, m.group(1));
        }
        assertEquals(expected.size(), (int) java.util.stream.IntStream.range(0, SyscallNumbersAarch64.INSTANCE.count())
                .filter(nr -> SyscallNumbersAarch64.INSTANCE.name(nr) != null).count());
        int max = expected.keySet().stream().mapToInt(Integer::intValue).max().orElseThrow();
        assertEquals(max + 1, SyscallNumbersAarch64.INSTANCE.count());
        for (int nr = 0; nr <= max + 5; nr++) assertEquals(expected.get(nr), SyscallNumbersAarch64.INSTANCE.name(nr), "nr " + nr);
        assertEquals(56, SyscallNumbersAarch64.INSTANCE.number("openat"));
        assertEquals(-1, SyscallNumbersAarch64.INSTANCE.number("open"));
    }

    private static String run(String input, String flag) throws Exception {
        Process p = new ProcessBuilder("aarch64-linux-gnu-gcc", "-E", flag, "-").redirectErrorStream(true).start();
        try (var out = p.getOutputStream()) {
            new ByteArrayInputStream(input.getBytes(StandardCharsets.US_ASCII)).transferTo(out);
        }
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        assertEquals(0, p.waitFor(), text);
        return text;
    }
}
