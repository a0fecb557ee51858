package dev.herd.runtime.arch;

/** A syscall numbering held as a name per number (null for holes). */
public abstract class NumberTable implements SyscallNumbering {
    private final String[] names;

    protected NumberTable(String[] names) {
        this.names = names;
    }

    @Override public final String name(long nr) {
        return nr >= 0 && nr < names.length ? names[(int) nr] : null;
    }

    @Override public final int count() { return names.length; }
}
