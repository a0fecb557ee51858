package dev.herd.runtime.launch;

import dev.herd.runtime.syscall.SyscallTable;

/**
 * The x86_64 syscalls Herd does not provide, each with its reason: they return -ENOSYS (one
 * warning per run), as on a kernel built without them. docs/SYSCALLS.md lists them from here.
 */
final class UnsupportedSyscalls {
    private UnsupportedSyscalls() {}

    private static final String REMOVED = "removed from Linux or never implemented on x86_64: the kernel returns ENOSYS too";
    private static final String HOST_ADMIN = "administers the host (modules, kexec, swap, reboot, accounting, quotas): never done for a guest";
    private static final String NAMESPACES = "mount tables and namespaces belong to the JVM's process; Herd confines the guest with --rootfs instead";
    private static final String NUMA = "NUMA memory policy is not modelled (guest memory is one host mapping)";
    private static final String IO_URING = "the kernel reads requests, with guest pointers in them, from rings shared with "
            + "user space and runs them asynchronously, so Herd cannot translate them; io_uring users fall back to other "
            + "calls on ENOSYS, as under seccomp or kernel.io_uring_disabled (native AIO, io_setup..., is implemented)";
    private static final String KEYS = "the host's keyrings hold the user's credentials (session and user keyrings), which a guest must not reach; Herd keeps no keyring of its own";
    private static final String OTHER_PROCESS = "reaches into other processes by host pid, which guest pids are not";
    private static final String SANDBOX = "would install a filter or sandbox on the JVM's own threads";
    private static final String HANDLES = "file handles bypass path confinement to --rootfs";
    private static final String FSMOUNT = "new mount API: " + NAMESPACES;

    static void register(SyscallTable t) {
        for (String n : new String[]{"uselib", "ustat", "sysfs", "_sysctl", "create_module", "get_kernel_syms",
                "query_module", "nfsservctl", "getpmsg", "putpmsg", "afs_syscall", "tuxcall", "security", "vserver",
                "epoll_ctl_old", "epoll_wait_old", "lookup_dcookie"}) {
            t.unsupported(n, "hex hex hex", REMOVED);
        }
        for (String n : new String[]{"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
                "swapon", "swapoff", "reboot", "acct", "quotactl", "quotactl_fd", "vhangup", "syslog"}) {
            t.unsupported(n, "hex hex hex", HOST_ADMIN);
        }
        for (String n : new String[]{"mount", "umount2", "pivot_root", "unshare", "setns", "mount_setattr"}) {
            t.unsupported(n, "hex hex hex", NAMESPACES);
        }
        for (String n : new String[]{"open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick"}) {
            t.unsupported(n, "hex hex hex", FSMOUNT);
        }
        for (String n : new String[]{"mbind", "set_mempolicy", "get_mempolicy", "migrate_pages", "move_pages",
                "set_mempolicy_home_node"}) {
            t.unsupported(n, "hex hex hex", NUMA);
        }
        for (String n : new String[]{"io_uring_setup", "io_uring_enter", "io_uring_register"}) {
            t.unsupported(n, "hex hex hex", IO_URING);
        }
        for (String n : new String[]{"add_key", "request_key", "keyctl"}) t.unsupported(n, "hex hex hex", KEYS);
        t.unsupported("process_mrelease", "fd hex", "releases the memory of a killed host process: never for a guest");
        for (String n : new String[]{"process_vm_readv", "process_vm_writev", "kcmp", "process_madvise"}) {
            t.unsupported(n, "hex hex hex", OTHER_PROCESS);
        }
        for (String n : new String[]{"seccomp", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self"}) {
            t.unsupported(n, "hex hex hex", SANDBOX);
        }
        t.unsupported("name_to_handle_at", "hex hex hex", HANDLES);
        t.unsupported("open_by_handle_at", "hex hex hex", HANDLES);
        t.unsupported("ptrace", "int int ptr ptr", "Herd does not emulate ptrace; instrument guests with Herd's Java API (hooks)");
        t.unsupported("perf_event_open", "ptr int int int hex", "hardware counters would measure the emulator, not the guest");
        t.unsupported("bpf", "int ptr size", "eBPF programs run in the host kernel: never loaded for a guest");
        t.unsupported("userfaultfd", "hex", "guest page faults are taken by Unicorn's soft MMU, not the host's: a host userfaultfd would only ever see Herd's own accesses");
        t.unsupported("fanotify_init", "hex hex", "fanotify watches whole host mounts and reports host paths and pids (outside --rootfs); it needs CAP_SYS_ADMIN");
        t.unsupported("fanotify_mark", "fd hex hex dirfd path", "fanotify watches whole host mounts and reports host paths and pids (outside --rootfs); it needs CAP_SYS_ADMIN");
        t.unsupported("memfd_secret", "hex", "secret memory cannot be mapped into the engines' view of guest memory");
        t.unsupported("remap_file_pages", "ptr size hex hex hex", "deprecated since Linux 3.16, which emulates it with mmap; not implemented: Herd's shared anonymous memory has no file to remap");
        for (String n : new String[]{"pkey_mprotect", "pkey_alloc", "pkey_free"}) {
            t.unsupported(n, "hex hex hex", "memory protection keys: the emulated CPU has no PKU");
        }
        for (String n : new String[]{"modify_ldt", "set_thread_area", "get_thread_area"}) {
            t.unsupported(n, "hex hex hex", "descriptor tables: the 64-bit engine runs without an LDT/GDT of the guest's");
        }
        t.unsupported("iopl", "int", "port I/O is never given to a guest");
        t.unsupported("ioperm", "hex hex int", "port I/O is never given to a guest");
    }
}
