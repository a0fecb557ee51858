package dev.herd.runtime.fs;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The hand-written host syscall numbers agree with the host's asm/unistd_64.h. */
class HostNrTest {
    @Test
    void numbersMatchKernelHeader() throws IOException, IllegalAccessException {
        Path h = Path.of("/usr/include/x86_64-linux-gnu/asm/unistd_64.h");
        Assumptions.assumeTrue(Files.exists(h), "kernel headers not installed");
        Map<String, Integer> nr = new HashMap<>();
        Matcher m = Pattern.compile("#define __NR_(\\w+) (\\d+)").matcher(Files.readString(h));
        while (m.find()) nr.put(m.group(1), Integer.parseInt(m.group(2)));
        int checked = 0;
        for (Field f : HostNr.class.getDeclaredFields()) {
            Integer expected = nr.get(f.getName().toLowerCase());
            if (expected == null) continue; // newer than the installed headers (fchmodat2)
            f.setAccessible(true);
            assertEquals(expected.intValue(), f.getInt(null), f.getName());
            checked++;
        }
        assertEquals(HostNr.class.getDeclaredFields().length - 1, checked, "all but fchmodat2 checked");
    }
}
