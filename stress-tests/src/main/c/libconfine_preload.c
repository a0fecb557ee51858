/*
 * Preloaded by nothing, if Herd is right: confine.c puts LD_PRELOAD=./libconfine_preload.so in the
 * environment of an execve. The guest's new image is static and ignores it; only a host process
 * started with the guest's environment (the JVM of the child Herd, before the fix) would load it.
 */
#include <unistd.h>

__attribute__((constructor)) static void escaped(void) {
    static const char msg[] = "ESCAPED: LD_PRELOAD from the guest ran in a host process\n";
    (void)!write(2, msg, sizeof msg - 1);
}
