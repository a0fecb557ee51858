package dev.herd.proxy;

/** The network a kernel proxy's sockets live in. */
public enum ProxyNetwork {
    /** The host's network namespace, the one Herd itself runs in. */
    HOST,
    /**
     * A network namespace of its own, with only loopback, up: nothing on the host (its loopback
     * included) is reachable, and the guest's own servers are reachable only from the guest.
     * Made with unshare(CLONE_NEWNET); without CAP_SYS_ADMIN inside a new user namespace that
     * maps the caller's own uid and gid.
     */
    ISOLATED
}
