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
public record ProxySettings(ProxyNetwork network, List<Forward> forwards, int joinNetworkOf) {
    public ProxySettings {
        forwards = List.copyOf(forwards);
    }

    public ProxySettings(ProxyNetwork network, List<Forward> forwards) {
        this(network, forwards, 0);
    }

    /** The same forwards in the isolated network of the running proxy {@code pid} (after an execve). */
    public ProxySettings joiningNetworkOf(int pid) {
        return new ProxySettings(ProxyNetwork.ISOLATED, forwards, pid);
    }

    /**
     * The command-line options that give a child Herd (the image after an execve) this proxy:
     * {@code --proxy} for the network family, else {@code --forward} with the names, and the
     * network ({@code --net-join PID} for an isolated one, so that both images share it).
     */
    public java.util.List<String> childOptions(int runningProxyPid) {
        java.util.List<String> o = new java.util.ArrayList<>();
        if (forwards.equals(network(network).forwards())) {
            o.add("--proxy");
        } else {
            o.add("--forward");
            o.add(String.join(",", forwards.stream().map(Forward::name).toList()));
        }
        if (network == ProxyNetwork.ISOLATED) {
            o.add("--net-join");
            o.add(Integer.toString(runningProxyPid));
        }
        return o;
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
