package dev.herd.stresstests.jcstress;

import static dev.herd.stresstests.jcstress.Spaces.A;
import static dev.herd.stresstests.jcstress.Spaces.PAGE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.herd.host.ErrnoException;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.Prot;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * mmap MAP_FIXED replacing part of a mapping vs a lookup and a checked read (GuestMemory) of an
 * address that stays mapped and readable throughout: never unmapped, never EFAULT, and a lookup
 * that already sees the new (zero-filled) mapping never reads the old contents.
 *
 * <p>[A, A+2P) RW with byte 7 at A; the writer maps a fresh anonymous read-only page at A. The
 * reader looks up A (1 = old RW [A, A+2P), 2 = new R [A, A+P), 0 = other), then reads the byte at
 * A (-1 = EFAULT).
 */
@JCStressTest
@Outcome(id = "1, 7", expect = ACCEPTABLE, desc = "lookup and read before the mmap")
@Outcome(id = "1, 0", expect = ACCEPTABLE_INTERESTING, desc = "old mapping seen, then the new page's zero "
        + "(or the old page already zeroed by the mmap in progress, as a racing kernel may show)")
@Outcome(id = "2, 0", expect = ACCEPTABLE, desc = "lookup and read after the mmap")
@Outcome(id = "2, 7", expect = FORBIDDEN, desc = "the new anonymous page showed the old contents")
@Outcome(expect = FORBIDDEN, desc = "EFAULT, or a missing or torn mapping")
@State
public class MapFixedReplaceTest {
    final GuestAddressSpace as = Spaces.withMapping(2, Prot.READ | Prot.WRITE);

    public MapFixedReplaceTest() {
        as.memory().writeByte(A, (byte) 7);
    }

    @Actor
    public void writer() {
        as.mmap(A, PAGE, Prot.READ, Spaces.ANON_FIXED, -1, 0);
    }

    @Actor
    public void reader(II_Result r) {
        var m = as.find(A);
        r.r1 = Spaces.is(m, A, A + 2 * PAGE, Prot.READ | Prot.WRITE) ? 1 : Spaces.is(m, A, A + PAGE, Prot.READ) ? 2 : 0;
        try {
            r.r2 = as.memory().readByte(A);
        } catch (ErrnoException e) {
            r.r2 = -1;
        }
    }

    @Arbiter
    public void close() {
        as.close();
    }
}
