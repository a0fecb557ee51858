package dev.herd.runtime.launch;

import dev.herd.proxy.ProxyNetwork;

import java.util.List;

/**
 * A run's kernel proxy: its network and the syscalls forwarded to it.
 *
 * @param network  the proxy's network namespace
 * @param forwards the syscalls whose host side runs in the proxy (calls on an fd that lives in the
 *                 proxy go there whatever this says)
 */
public record ProxySettings(ProxyNetwork network, List<Forward> forwards) {
    public ProxySettings {
        forwards = List.copyOf(forwards);
    }

    /**
     * One forwarded syscall. {@code returnsFd} matters only for a call Herd does not implement,
     * which is then forwarded raw (its six argument words unchanged, so it suits calls whose
     * arguments are numbers) and whose result, if {@code returnsFd}, becomes a guest fd.
     */
    public record Forward(String name, boolean returnsFd, boolean required) {
        public Forward(String name, boolean returnsFd) {
            this(name, returnsFd, true);
        }
    }

    /**
     * What {@code --proxy} alone forwards: the calls that make sockets, epoll instances, eventfds
     * and timerfds. Every other call on those fds (bind, accept4, sendmsg, epoll_wait, read, poll,
     * ...) follows the fd to the proxy. Calls an architecture lacks (arm64 has no epoll_create or
     * eventfd) are skipped.
     */
    public static final List<String> NETWORK_FAMILY = List.of("socket", "socketpair", "epoll_create", "epoll_create1",
            "eventfd", "eventfd2", "timerfd_create");

    /** The network family in the given network. */
    public static ProxySettings network(ProxyNetwork network) {
        return new ProxySettings(network, NETWORK_FAMILY.stream().map(n -> new Forward(n, false, false)).toList());
    }
}
