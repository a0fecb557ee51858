package dev.herd.runtime.fs;

/** Guest paths resolved inside the rootfs. SKELETON: to be written. */
public final class PathResolver {
}
