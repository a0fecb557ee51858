package dev.herd.threads;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herd.threads.x86_64.CpuidX86_64;
import dev.herd.threads.x86_64.ExceptionLatchX86_64;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The per-library fact cache (surefire points XDG_CACHE_HOME into target/, see threads/pom.xml). */
class LibraryFactsTest {
    private static Path dir() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        assertNotNull(xdg, "run through surefire (threads/pom.xml sets XDG_CACHE_HOME)");
        return Path.of(xdg, "herd");
    }

    @Test
    void valuesRoundTripThroughOneAtomicallyWrittenFile() throws Exception {
        LibraryFacts.put("test.roundTrip", 1, -2, Long.MAX_VALUE);
        assertArrayEquals(new long[] {1, -2, Long.MAX_VALUE}, LibraryFacts.get("test.roundTrip"));
        // Files of earlier builds (another herd_native or libunicorn identity) may be there when
        // target/ was not cleaned; the one written now is the newest.
        List<Path> files;
        try (Stream<Path> s = Files.list(dir())) {
            files = s.sorted(java.util.Comparator.comparing((Path p) -> p.toFile().lastModified()).reversed()).toList();
        }
        assertTrue(files.stream().allMatch(p -> p.getFileName().toString().endsWith(".properties")),
                "no temporary files left: " + files);
        String text = Files.readString(files.getFirst());
        assertTrue(text.contains("test.roundTrip=1,-2," + Long.MAX_VALUE), text);
        assertTrue(text.contains("libunicorn"), "the identity names the library: " + text);
    }

    @Test
    void cachedProbesAgreeWithFreshOnes() {
        ExceptionLatchX86_64 cached = ExceptionLatchX86_64.probeCached();
        ExceptionLatchX86_64 again = ExceptionLatchX86_64.probeCached();   // from the file this time
        assertEquals(ExceptionLatchX86_64.probe().located(), cached.located());
        assertEquals(cached.located(), again.located());
        assertEquals(CpuidX86_64.probe().hwcap(), CpuidX86_64.probeCached().hwcap());
        assertEquals(CpuidX86_64.probe().hwcap(), CpuidX86_64.probeCached().hwcap());
    }
}
