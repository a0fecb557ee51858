package dev.herd.stresstests;

/** herd's execution modes; every guest test runs in each. */
enum Mode {
    /** Every guest thread runs on its own engine at the same time (the default). */
    PARALLEL("parallel"),
    /** One engine runs guest code at a time (the oracle for parallel mode). */
    SERIAL("serial");

    final String cli;

    Mode(String cli) {
        this.cli = cli;
    }

    @Override
    public String toString() {
        return cli;
    }
}
