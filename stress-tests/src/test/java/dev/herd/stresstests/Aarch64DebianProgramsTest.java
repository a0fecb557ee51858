package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Debian's arm64 programs (dynamically linked: the guest's own ld.so loads libc and the rest from
 * the rootfs) and arm64 busybox-static, under herd with {@code --rootfs} and under
 * {@code qemu-aarch64-static -L} on the same rootfs, the oracle, in both modes. The rootfs is
 * assembled from Debian arm64 packages by {@code scripts/arm64-rootfs.sh} (run by
 * {@code scripts/setup.sh}); each case runs in a directory inside it holding the {@link Fixtures},
 * so relative paths mean the same under both (herd confines the guest to the rootfs; qemu's
 * {@code -L} is only a prefix it tries first).
 */
class Aarch64DebianProgramsTest {
    static final Path ROOTFS = Path.of(System.getProperty("herd.arm64.rootfs",
            System.getenv().getOrDefault("XDG_CACHE_HOME", System.getProperty("user.home") + "/.cache") + "/herd/rootfs-arm64"));

    record Case(String name, List<String> argv, String stdin) {
        @Override public String toString() { return name; }
    }

    static Case p(String program, String... args) {
        List<String> argv = new ArrayList<>(List.of(program));
        argv.addAll(List.of(args));
        return new Case(Path.of(program).getFileName() + " " + String.join(" ", args), argv, null);
    }

    static Case in(Case c, String stdin) { return new Case(c.name() + " < " + stdin, c.argv(), stdin); }

    static final List<Case> CASES = List.of(
            p("/usr/bin/sort", "-f", "-u", "words.txt"),
            p("/usr/bin/sort", "-t:", "-k3,3n", "-k1,1r", "table.txt"),
            in(p("/usr/bin/uniq", "-c"), "words.txt"),
            p("/usr/bin/sha256sum", "binary.bin", "prose.txt"),
            p("/usr/bin/md5sum", "-c", "sums.md5"),
            p("/usr/bin/wc", "-l", "-w", "-c", "prose.txt", "words.txt", "binary.bin"),
            p("/usr/bin/head", "-n", "3", "prose.txt"),
            p("/usr/bin/tail", "-c", "50", "prose.txt"),
            p("/usr/bin/cut", "-d:", "-f1,3", "table.txt"),
            in(p("/usr/bin/tr", "a-z", "A-Z"), "prose.txt"),
            p("/usr/bin/base64", "binary.bin"),
            p("/bin/ls", "-l", "tree"),
            p("/bin/ls", "-laR", "tree"),
            p("/usr/bin/stat", "-c", "%n %s %F %a", "tree/a.txt", "tree", "tree/link-to-a"),
            p("/usr/bin/seq", "-s", ",", "-w", "1", "12"),
            p("/bin/cat", "/nonexistent-herd-file"),
            p("/bin/grep", "-n", "the", "prose.txt"),
            p("/bin/grep", "-c", "-i", "-E", "^(ap|ba)[a-z]+$", "words.txt"),
            p("/bin/sed", "-e", "/^$/d", "-e", "s/[aeiou]//2", "-e", "y/abc/xyz/", "prose.txt"),
            p("/bin/gzip", "-c", "-9", "prose.txt"),
            in(p("/usr/bin/perl", "-e", "my %n; $n{length $_}++ for map { chomp; $_ } <STDIN>; "
                    + "print map { \"$_ $n{$_}\\n\" } sort { $a <=> $b } keys %n"), "words.txt"),
            p("/usr/bin/python3.11", "-c", "import hashlib, json, re, struct, math\n"
                    + "text = open('prose.txt').read()\n"
                    + "words = re.findall(r'[a-z]+', text.lower())\n"
                    + "print(hashlib.sha256(text.encode()).hexdigest(), len(words), sum(i * i for i in range(10**5)))\n"
                    + "print(json.dumps(sorted(set(words))[:5]), math.fsum([0.1] * 10), struct.calcsize('P'))"),
            p("/bin/busybox", "sh", "-c", "for i in 1 2 3; do printf '%s-' $i; done; echo $((6 * 7))"),
            p("/bin/busybox", "sort", "-r", "words.txt"),
            p("/bin/busybox", "find", "tree", "-type", "f"),
            p("/bin/busybox", "md5sum", "binary.bin"),
            // fork (issue 13): a shell's pipelines and command substitution, Python's os.fork and
            // multiprocessing with the fork start method
            p("/bin/busybox", "sh", "-c", "busybox sort words.txt | busybox uniq -c | busybox sort -rn | busybox head -n 3; "
                    + "n=$(busybox wc -l < words.txt); echo \"$n words\"; (exit 3); echo $?; "
                    + "busybox sleep 0.1 & wait $!; echo waited $?"),
            // (a Pool needs sem_open's /dev/shm, which the arm64 rootfs does not have)
            p("/usr/bin/python3.11", "-c", "import os, multiprocessing as mp\n"
                    + "def child(conn): conn.send(sum(i * i for i in range(100))); conn.close()\n"
                    + "pid = os.fork()\n"
                    + "if pid == 0: os._exit(7)\n"
                    + "print(os.waitpid(pid, 0)[1] >> 8)\n"
                    + "ctx = mp.get_context('fork')\n"
                    + "a, b = ctx.Pipe()\n"
                    + "p = ctx.Process(target=child, args=(b,)); p.start(); print(a.recv()); p.join(); print(p.exitcode)"));

    static Stream<Arguments> cases() {
        return CASES.stream().flatMap(c -> Stream.of(Mode.values()).map(m -> Arguments.of(c, m)));
    }

    @ParameterizedTest(name = "{0} [{1}]")
    @MethodSource("cases")
    void sameAsQemu(Case c, Mode mode) throws IOException {
        HerdEnv.requireHerd();
        assertTrue(Files.isRegularFile(ROOTFS.resolve(".herd-rootfs")),
                "no arm64 rootfs at " + ROOTFS + ": run scripts/setup.sh (it runs scripts/arm64-rootfs.sh)");
        assertTrue(Files.isExecutable(Aarch64ProgramsTest.QEMU), "qemu-aarch64-static missing: run scripts/setup.sh");
        Path base = Files.createTempDirectory(Files.createDirectories(ROOTFS.resolve("tmp")), "herd-test-");
        try {
            Path dir = base.resolve("d");
            List<String> hostArgv = new ArrayList<>(c.argv());
            hostArgv.set(0, ROOTFS + c.argv().getFirst());
            List<String> oracle = new ArrayList<>(List.of(Aarch64ProgramsTest.QEMU.toString(), "-L", ROOTFS.toString()));
            oracle.addAll(hostArgv);
            prepare(dir);
            GuestRun.Result q = GuestRun.run(oracle, dir, c.stdin() == null ? null : dir.resolve(c.stdin()),
                    HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
            prepare(dir);
            GuestRun.Result h = GuestRun.run(GuestRun.herdCommand(mode, hostArgv, "--rootfs", ROOTFS.toString()), dir,
                    c.stdin() == null ? null : dir.resolve(c.stdin()), HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
            GuestRun.assertNoJavaLeak(h);
            GuestRun.assertSameOutcome("arm64 " + c + " [" + mode + "]", q, h);
        } finally {
            Differential.deleteTree(base);
        }
    }

    private static void prepare(Path dir) throws IOException {
        Differential.deleteTree(dir);
        Files.createDirectories(dir);
        Fixtures.populate(dir);
    }
}
