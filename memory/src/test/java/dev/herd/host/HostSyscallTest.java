package dev.herd.host;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The hand-written host syscall numbers agree with the host's asm/unistd_64.h. */
class HostSyscallTest {
    @Test
    void numbersMatchKernelHeader() throws IOException, IllegalAccessException {
        Path h = Path.of("/usr/include/x86_64-linux-gnu/asm/unistd_64.h");
        Assumptions.assumeTrue(Files.exists(h), "kernel headers not installed");
        Map<String, Integer> nr = new HashMap<>();
        Matcher m = Pattern.compile("#define __NR_(\\w+) (\\d+)").matcher(Files.readString(h));
        while (m.find()) nr.put(m.group(1), Integer.parseInt(m.group(2)));
        Set<String> unknown = new TreeSet<>();
        for (Field f : HostSyscall.class.getDeclaredFields()) {
            if (!Modifier.isStatic(f.getModifiers()) || f.getType() != int.class) continue;
            Integer expected = nr.get(f.getName().toLowerCase());
            if (expected == null) {
                unknown.add(f.getName());
                continue;
            }
            assertEquals(expected.intValue(), f.getInt(null), f.getName());
        }
        // Only calls newer than Debian's installed headers may be missing from them.
        unknown.remove("FCHMODAT2");
        assertEquals(Set.of(), unknown, "names not in asm/unistd_64.h");
    }
}
