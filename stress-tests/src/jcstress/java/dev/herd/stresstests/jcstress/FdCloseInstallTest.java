package dev.herd.stresstests.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.herd.runtime.fs.FdTable;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * close(1) vs install with fds 0, 1, 2 open: the install gets 1 (lowest free, after the close) or
 * 3 (before it), never an fd still open; the table is consistent after (r2 = 1).
 */
@JCStressTest
@Outcome(id = {"1, 1", "3, 1"}, expect = ACCEPTABLE, desc = "lowest free fd after or before the close")
@Outcome(expect = FORBIDDEN, desc = "an open fd handed out, or an inconsistent table")
@State
public class FdCloseInstallTest {
    final FdTable t = Fds.withBogus(3);

    @Actor
    public void closer() {
        t.close(1);
    }

    @Actor
    public void installer(II_Result r) {
        r.r1 = t.install(Fds.bogus(9), false);
    }

    @Arbiter
    public void check(II_Result r) {
        int fd = r.r1;
        boolean ok = t.size() == 3 && t.get(0) == Fds.bogus(0) && t.get(2) == Fds.bogus(2) && t.get(fd) == Fds.bogus(9)
                && (fd == 1 ? !t.isOpen(3) : !t.isOpen(1));
        r.r2 = ok ? 1 : 0;
    }
}
