package dev.herd;

import dev.herd.proxy.ProxyHost;
import dev.herd.proxy.ProxyNetwork;
import dev.herd.runtime.launch.ProxySettings;

import java.util.ArrayList;
import java.util.List;

/**
 * A kernel proxy for one {@link Herd}: a helper process in which a real Linux kernel runs the
 * syscalls you choose, with your hooks intact around them, optionally in a network namespace of
 * its own.
 *
 * <pre>{@code
 * try (Herd herd = Herd.builder().program("/usr/bin/wget", "-O-", "http://127.0.0.1:8080/").build()) {
 *     KernelProxy proxy = KernelProxy.start(herd).network(KernelProxy.Network.ISOLATED).forwardNetwork();
 *     herd.setSyscall("connect", Intercept.ENTER, ev -> System.err.println("connect " + ev.arg(0)));
 *     herd.run();
 * }
 * }</pre>
 *
 * <p><b>What runs where.</b> A forwarded syscall still goes through Herd: ENTER, CALL and EXIT
 * hooks fire as for any call (a CALL hook that sets a result replaces the proxy's call), and
 * Herd's handler checks and translates the arguments (guest pointers, fds, paths, the guest
 * architecture's layouts). The host call it makes then runs in the proxy, which maps the guest
 * memory at Herd's own address, so no argument is copied. Fds the proxy creates live there: every
 * later call on them (read, write, sendmsg, epoll_wait, ioctl, fstat, close, dup, ...) goes to the
 * proxy whether forwarded or not, and poll/select over a mix of local and proxy fds runs in the
 * proxy with copies of the local ones. Nothing is forwarded unless asked.
 *
 * <p><b>Lifetime.</b> The helper process starts with the run, before the guest's first
 * instruction, and ends with it (also when the JVM dies). If it dies mid-run, every forwarded call
 * fails with EIO and the run's diagnostics get one line; the guest keeps running. A proxy that
 * cannot start makes {@link Herd#start()} throw a {@link HerdException} with the reason.
 */
public final class KernelProxy {
    /** The network the proxy's sockets live in. */
    public enum Network {
        /** The host's network namespace. */
        HOST,
        /** A network namespace of its own with only loopback, up: nothing on the host is reachable. */
        ISOLATED
    }

    private final Herd herd;
    private Network network = Network.HOST;
    private final List<ProxySettings.Forward> forwards = new ArrayList<>();

    private KernelProxy(Herd herd) {
        this.herd = herd;
    }

    /**
     * Gives {@code herd} a kernel proxy; configure it before the run starts.
     *
     * @throws IllegalStateException if the Herd already has one or has started
     */
    public static KernelProxy start(Herd herd) {
        KernelProxy p = new KernelProxy(herd);
        herd.attachProxy(p);
        return p;
    }

    /** The network the proxy's sockets live in (default {@link Network#HOST}). */
    public synchronized KernelProxy network(Network network) {
        herd.checkNotStarted();
        this.network = network;
        return this;
    }

    /** Forwards syscall {@code name} (a Linux name of the guest's architecture, e.g. "socket"). */
    public KernelProxy forwardSyscall(String name) {
        return forwardSyscall(name, false);
    }

    /**
     * Forwards syscall {@code name}. {@code returnsFd} matters only for a call Herd does not
     * implement itself: that one is forwarded raw, its six argument words unchanged (numbers only;
     * a guest pointer means nothing in the proxy), and a non-negative result becomes a guest fd
     * living in the proxy when {@code returnsFd} is true. A call Herd implements knows its own
     * result.
     */
    public synchronized KernelProxy forwardSyscall(String name, boolean returnsFd) {
        herd.checkNotStarted();
        forwards.add(new ProxySettings.Forward(name, returnsFd));
        return this;
    }

    /**
     * Forwards what {@code bin/herd run --proxy} does: the calls that create sockets, epoll
     * instances, eventfds and timerfds ({@link ProxySettings#NETWORK_FAMILY}; those the guest's
     * architecture lacks are skipped).
     */
    public synchronized KernelProxy forwardNetwork() {
        herd.checkNotStarted();
        for (String n : ProxySettings.NETWORK_FAMILY) forwards.add(new ProxySettings.Forward(n, false, false));
        return this;
    }

    /** The proxy's host pid while the run goes on, else -1. */
    public int pid() {
        ProxyHost h = host();
        return h == null ? -1 : h.pid();
    }

    /** True while the run goes on and its proxy process is alive. */
    public boolean isAlive() {
        ProxyHost h = host();
        return h != null && !h.isDead();
    }

    private ProxyHost host() {
        HerdRun r = herd.currentRun();
        return r == null ? null : r.proxyHost();
    }

    synchronized ProxySettings settings() {
        return new ProxySettings(network == Network.ISOLATED ? ProxyNetwork.ISOLATED : ProxyNetwork.HOST, forwards);
    }
}
