package dev.herd.stresstests.jcstress;

import dev.herd.runtime.fs.FdTable;

/** FdTable fixtures for the jcstress states. */
final class Fds {
    private Fds() {}

    /**
     * A host fd number that is never open (far above fs.nr_open, 2^20 by default, which bounds every
     * RLIMIT_NOFILE), so the table's host close of it is a harmless EBADF.
     */
    static int bogus(int i) {
        return (1 << 29) + i;
    }

    /**
     * One real host fd per JVM (a duplicate of stdin, else stdout or stderr) that tables needing a real file for dup/dup2
     * install as guest fd 0 without owning it: those tables are never closed as a whole, only the
     * duplicates the test made are closed, so each state holds a real fd only between its actors
     * and its arbiter.
     */
    static final int REAL;

    static {
        FdTable stdio = FdTable.withStdio(0, 1, 2);
        int[] open = stdio.openFds();
        if (open.length == 0) throw new IllegalStateException("no stdio fd to duplicate");
        REAL = stdio.get(open[0]);
    }

    /** A table with guest fds 0 .. n-1 open on bogus host fds bogus(0) .. bogus(n-1). */
    static FdTable withBogus(int n) {
        FdTable t = new FdTable();
        for (int i = 0; i < n; i++) t.installAt(i, bogus(i), false);
        return t;
    }
}
