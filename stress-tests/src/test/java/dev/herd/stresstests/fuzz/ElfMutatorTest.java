package dev.herd.stresstests.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** The mutator alone (no herd run): deterministic by seed, never throws, and really mutates. */
class ElfMutatorTest {
    private static final ElfMutator MUTATOR = new ElfMutator(ElfMutator.Paths.host("/bin/true"));

    @Test
    void sameSeedSameMutantAndNoExceptions() throws Exception {
        byte[] seed = Files.readAllBytes(Path.of("/usr/bin/true"));
        Set<String> descriptions = new HashSet<>();
        int changed = 0;
        for (long i = 0; i < 5000; i++) {
            long cs = ElfMutator.caseSeed(42, i);
            ElfMutator.Mutant a = MUTATOR.mutate(seed, cs), b = MUTATOR.mutate(seed, cs);
            assertArrayEquals(a.bytes(), b.bytes(), "case " + i);
            assertEquals(a.description(), b.description(), "case " + i);
            descriptions.add(a.description());
            if (!java.util.Arrays.equals(a.bytes(), seed)) changed++;
        }
        assertFalse(descriptions.size() < 3000, "mutations vary: " + descriptions.size() + " distinct of 5000");
        assertFalse(changed < 4500, "mutants differ from the seed: " + changed + " of 5000");
    }

    @Test
    void caseSeedsDiffer() {
        assertFalse(ElfMutator.caseSeed(1, 0) == ElfMutator.caseSeed(1, 1));
        assertFalse(ElfMutator.caseSeed(1, 0) == ElfMutator.caseSeed(2, 0));
    }
}
