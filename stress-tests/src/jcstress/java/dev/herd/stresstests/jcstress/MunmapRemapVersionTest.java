package dev.herd.stresstests.jcstress;

import static dev.herd.stresstests.jcstress.Spaces.A;
import static dev.herd.stresstests.jcstress.Spaces.PAGE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.Prot;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * munmap then mmap of the same page vs version reads around a lookup: versions never go back, and
 * the table a lookup sees belongs to a version between the two reads (the version and the table
 * are one snapshot).
 *
 * <p>Versions relative to the initial one: 0 mapped, 1 unmapped, 2 mapped again. The reader
 * reads v1, looks up A (1 = found), reads v2.
 */
@JCStressTest
@Outcome(id = {"0, 1, 0", "0, 1, 1", "0, 1, 2"}, expect = ACCEPTABLE, desc = "lookup saw version 0 (mapped)")
@Outcome(id = {"0, 0, 1", "0, 0, 2", "1, 0, 1", "1, 0, 2"}, expect = ACCEPTABLE_INTERESTING, desc = "lookup saw version 1 (unmapped)")
@Outcome(id = {"1, 1, 2", "2, 1, 2"}, expect = ACCEPTABLE, desc = "lookup saw version 2 (mapped again)")
@Outcome(expect = FORBIDDEN, desc = "version went back, or the lookup contradicts the versions around it")
@State
public class MunmapRemapVersionTest {
    final GuestAddressSpace as = Spaces.withMapping(1, Prot.READ | Prot.WRITE);
    final long base = as.version();

    @Actor
    public void writer() {
        as.munmap(A, PAGE);
        as.mmap(A, PAGE, Prot.READ | Prot.WRITE, Spaces.ANON_FIXED, -1, 0);
    }

    @Actor
    public void reader(III_Result r) {
        long v1 = as.version();
        boolean found = as.find(A) != null;
        long v2 = as.version();
        r.r1 = (int) (v1 - base);
        r.r2 = found ? 1 : 0;
        r.r3 = (int) (v2 - base);
    }

    @Arbiter
    public void close() {
        as.close();
    }
}
