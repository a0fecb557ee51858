package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import dev.herd.stresstests.fuzz.ElfFuzzer;

/**
 * A short ELF fuzz campaign (the same code as {@code scripts/fuzz.sh}): mutants of hello,
 * hello-static-pie and /usr/bin/true run natively and under {@code bin/herd run}; fails on a JVM
 * crash, a Java stack trace, an internal error, a hang, a refusal that is not one "herd:" line
 * with status 126/127, or an outcome class that differs from Linux's (see ElfFuzzer#verdict).
 * Seed and count: {@code -Dherd.fuzz.seed=} (default 9), {@code -Dherd.fuzz.count=} (default 60).
 * Each failure prints the command that reproduces it.
 */
class ElfFuzzTest {

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void mutatedElfFilesAreRefusedOrRunLikeLinux() throws IOException, InterruptedException {
        HerdEnv.requireHerd();
        Path work = Differential.newRunDirectory("elf-fuzz");
        ElfFuzzer.Config cfg = new ElfFuzzer.Config(HerdEnv.ROOT, HerdEnv.GUESTS.resolve("exec_raw"),
                java.util.List.of(HerdEnv.guest("hello"), HerdEnv.guest("hello-static-pie"), Path.of("/usr/bin/true")),
                Long.getLong("herd.fuzz.seed", 9), 0, Integer.getInteger("herd.fuzz.count", 60), 2,
                Duration.ofSeconds(30), Duration.ofSeconds(10), work, "parallel", false, System.out);
        ElfFuzzer.Summary s = new ElfFuzzer(cfg).run();
        assertEquals(0, s.bad(), s.bad() + " of " + s.cases() + " mutants had a bad outcome (case directories kept in "
                + work + "):\n" + String.join("\n", s.badLines()));
        Differential.deleteTree(work);
    }
}
