package dev.herd.stresstests;

import static dev.herd.stresstests.GuestCase.c;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The network guests with their sockets, epoll instances, eventfds and timerfds in the kernel
 * proxy ({@code --proxy}), in both of its networks and both modes, against native runs (x86_64)
 * and {@code qemu-aarch64-static} (aarch64). net_proxy.c is the proxy's own guest: an epoll TCP
 * echo with an eventfd and a timerfd in the set, UDP, poll and select over a mix of local and
 * proxy fds, SCM_RIGHTS across sides, 32 threads blocked in forwarded calls while another makes
 * quick ones, and forwarded calls interrupted by signals with and without SA_RESTART.
 */
class ProxyProgramsTest {
    private static final List<GuestCase> CASES = List.of(
            c("net_proxy").status(0),
            c("socket", "{dir}").status(0),
            c("epoll").status(0),
            c("tcp_epoll_server").status(0),
            c("pipe").status(0),
            c("sig_eintr").status(0),
            c("signalfd").status(0),
            c("sig_pipe", "checks").status(0));

    static Stream<Arguments> cases() {
        return Differential.inAllModes(CASES).flatMap(a -> Stream.of("host", "isolated")
                .map(net -> Arguments.of(a.get()[0], a.get()[1], net)));
    }

    @ParameterizedTest(name = "{0} [{1}, --net {2}]")
    @MethodSource("cases")
    void sameAsNative(GuestCase guest, Mode mode, String net) throws IOException {
        Differential.check(guest, mode, "--proxy", "--net", net);
    }

    /**
     * AF_UNIX paths a proxied socket binds and connects to resolve inside {@code --rootfs}, as
     * local ones do: the proxy is handed Herd's confined directory fd, never the guest's path.
     */
    @org.junit.jupiter.api.Test
    void unixSocketPathsStayInsideTheRootfs() throws IOException {
        HerdEnv.requireHerd();
        Path root = Differential.newRunDirectory("proxy-rootfs");
        Files.createDirectories(root.resolve("scratch"));
        Path escaped = Path.of("/scratch");
        org.junit.jupiter.api.Assumptions.assumeFalse(Files.exists(escaped), "/scratch exists on this host");
        GuestRun.Result h = GuestRun.run(GuestRun.herdCommand(Mode.PARALLEL,
                        List.of(HerdEnv.GUESTS.resolve("socket").toString(), "/scratch"), "--proxy", "--rootfs", root.toString()),
                root, null, HerdEnv.guestEnvironment(root), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(h);
        org.junit.jupiter.api.Assertions.assertEquals(0, h.status(), h.stdoutText() + h.stderrText());
        // The guest checks that the file it bound exists in its cwd (/scratch inside the rootfs)
        // and unlinks it there.
        assertTrue(h.stdoutText().contains("ok: the socket file exists in the cwd") && h.stdoutText().endsWith("RESULT: ok\n"),
                h.stdoutText());
        assertTrue(!Files.exists(escaped), "a socket path escaped the rootfs");
        Differential.deleteTree(root);
    }

    /**
     * An aarch64 guest's execve keeps its proxy's isolated network: the new image's proxy joins
     * the old one's namespaces, so it reaches the listener the old image left open (and accepts on
     * that fd). Self-checked, as qemu-user cannot run this stage.
     */
    @org.junit.jupiter.api.Test
    void aarch64ExecveKeepsTheProxysNetwork() throws IOException {
        HerdEnv.requireHerd();
        Path base = Differential.newRunDirectory("proxy-a64-exec");
        GuestRun.Result h = GuestRun.run(GuestRun.herdCommand(Mode.PARALLEL,
                        List.of(HerdEnv.GUESTS.resolve("aarch64").resolve("net_proxy").toString()), "--proxy", "--net", "isolated"),
                base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(h);
        org.junit.jupiter.api.Assertions.assertEquals(0, h.status(), h.stdoutText() + h.stderrText());
        assertTrue(h.stdoutText().contains("ok: after execve: data flows\nRESULT: ok\n"), h.stdoutText());
        Differential.deleteTree(base);
    }

    static Stream<Arguments> aarch64Cases() {
        return Stream.of("net_proxy", "socket", "epoll").flatMap(g -> Stream.of(Mode.values()).map(m -> Arguments.of(g, m)));
    }

    @ParameterizedTest(name = "aarch64/{0} [{1}]")
    @MethodSource("aarch64Cases")
    void aarch64SameAsQemu(String name, Mode mode) throws IOException {
        HerdEnv.requireHerd();
        assertTrue(Files.isExecutable(Aarch64ProgramsTest.QEMU), "qemu-aarch64-static missing: run scripts/setup.sh");
        Path program = HerdEnv.GUESTS.resolve("aarch64").resolve(name);
        Path base = Differential.newRunDirectory("proxy-a64-" + name + "-" + mode);
        Path dir = Files.createDirectories(base.resolve("d"));
        // net_proxy's last stage execve's itself, which qemu-user cannot without binfmt_misc:
        // aarch64ExecveKeepsTheProxysNetwork checks that stage under herd alone.
        String arg = name.equals("net_proxy") ? "no-exec" : dir.toString();
        GuestRun.Result q = GuestRun.run(List.of(Aarch64ProgramsTest.QEMU.toString(), program.toString(), arg),
                dir, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        Differential.deleteTree(dir);
        Files.createDirectories(dir);
        GuestRun.Result h = GuestRun.run(GuestRun.herdCommand(mode, List.of(program.toString(), arg), "--proxy"),
                dir, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(h);
        // The guests check themselves; qemu-user 7.2 fails a few of Linux's checks (epoll_pwait2,
        // socket's type check), so the rule is Aarch64ProgramsTest's: herd passes every check and
        // makes the same ones.
        Aarch64ProgramsTest.selfChecked("aarch64/" + name + " --proxy [" + mode + "]", q, h);
        Differential.deleteTree(base);
    }
}
