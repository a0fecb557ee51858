package dev.herd.runtime.fs;

/** Guest fd → host fd. SKELETON: to be written. */
public final class FdTable {
}
