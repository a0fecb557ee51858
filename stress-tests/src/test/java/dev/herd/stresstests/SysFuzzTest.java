package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A short syscall-fuzzing run (issue 9): the sysfuzz guest for a few seeds, natively and under herd
 * in both modes; fails on a hang, a crash, an internal error, a Java stack trace, or a result that
 * differs from native's where one side is EFAULT (the rule is in {@link SysFuzz}). Other
 * differences are printed, not failed. Long campaigns: scripts/fuzz-syscalls.sh.
 */
class SysFuzzTest {
    /** Calls per syscall number and seed (about 430 numbers are called). */
    static final int ROUNDS = Integer.getInteger("herd.sysfuzz.rounds", 2);

    // Seed 7 once ended in SIGSEGV at pc -ENOSYS after its last call in parallel mode (before the
    // mapOnDemand stale-overlap fix; 0 of 6 runs since). scripts/fuzz-syscalls.sh runs seeds 1-20.
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 4, 7})
    void sameAsNative(long seed) throws IOException {
        HerdEnv.requireHerd();
        SysFuzz f = new SysFuzz(HerdEnv.ROOT, HerdEnv.guest("sysfuzz"), HerdEnv.WORK.resolve("sysfuzz"),
                Duration.ofSeconds(60), HerdEnv.TIMEOUT.multipliedBy(2));
        List<SysFuzz.Outcome> outcomes = f.fuzz(seed, ROUNDS, List.of("parallel", "serial"));
        StringBuilder failures = new StringBuilder();
        for (SysFuzz.Outcome o : outcomes) {
            System.out.print(o.report());
            if (!o.ok()) failures.append(o.report());
        }
        if (!failures.isEmpty()) {
            fail("sysfuzz seed " + seed + " (reproduce: cd an empty dir; stress-tests/target/guests/sysfuzz " + seed + " "
                    + ROUNDS + " [NR], natively and under bin/herd run):\n" + failures);
        }
    }
}
