package dev.herd.stresstests;

import static dev.herd.stresstests.GuestCase.bb;

import java.io.IOException;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Debian's static busybox (a real program nobody here wrote), natively and under herd in every
 * mode. Each case runs in a directory holding the {@link Fixtures} (fixed contents, modes, times).
 */
class BusyboxTest {

    static final List<GuestCase> CASES = List.of(
            bb("echo", "hello", "world").status(0),
            bb("echo", "-n", "no newline").status(0),
            bb("echo", "-e", "tab\\there\\nnext line\\\\").status(0),
            bb("sort").stdin("words.txt").status(0),
            bb("sort", "-r", "-u", "words.txt").status(0),
            bb("sort", "-f", "-u").stdin("words.txt").status(0),
            bb("sort", "-n").stdin("numbers.txt").status(0),
            bb("sort", "-t:", "-k3,3n", "-k1,1r", "table.txt").status(0),
            bb("uniq", "-c").stdin("words.txt").status(0),
            bb("uniq", "-d", "words.txt").status(0),
            bb("sha256sum", "binary.bin", "prose.txt", "words.txt").status(0),
            bb("sha256sum").stdin("binary.bin").status(0),
            bb("md5sum", "binary.bin", "numbers.txt").status(0),
            bb("md5sum", "-c", "sums.md5").status(1),
            bb("wc").stdin("prose.txt").status(0),
            bb("wc", "-l", "-w", "-c", "prose.txt", "words.txt", "binary.bin").status(0),
            bb("head", "-n", "3").stdin("prose.txt").status(0),
            bb("head", "-c", "100", "binary.bin").status(0),
            bb("tail", "-n", "5", "words.txt").status(0),
            bb("tail", "-n", "+195").stdin("words.txt").status(0),
            bb("tail", "-c", "50", "prose.txt").status(0),
            bb("grep", "-n", "the", "prose.txt").status(0),
            bb("grep", "-c", "-i", "THE", "prose.txt", "words.txt").status(0),
            bb("grep", "-v", "-e", "a", "-e", "e").stdin("words.txt").status(0),
            bb("grep", "-E", "^(ap|ba)[a-z]+$", "words.txt").status(0),
            bb("grep", "zzz-no-match", "prose.txt").status(1),
            bb("grep", "x", "missing.txt").status(2),
            bb("sed", "-e", "s/the/THE/g", "prose.txt").status(0),
            bb("sed", "-n", "2,4p").stdin("prose.txt").status(0),
            bb("sed", "-e", "/^$/d", "-e", "s/[aeiou]//2", "-e", "y/abc/xyz/", "prose.txt").status(0),
            bb("awk", "-F:", "{ s += $3 } END { print s, NR, $1 }", "table.txt").status(0),
            bb("awk", "{ print NR \": \" length($0), NF, toupper($1) }", "prose.txt").status(0),
            // Debian's busybox awk has no math functions (sin, exp): plain floating-point arithmetic.
            bb("awk", "BEGIN { for (i = 0; i < 8; i++) printf \"%d %.6f %e %d\\n\", i, i / 7 * 1000, i * 1.5e10 + 0.25, i * i * 1000003 % 97 }").status(0),
            bb("seq", "1", "100").status(0),
            bb("seq", "10", "-3", "-10").status(0),
            bb("seq", "-s", ",", "-w", "1", "12").status(0),
            bb("ls", "-l", "tree").status(0),
            bb("ls", "-1a", "tree").status(0),
            bb("ls", "-lR", "tree").status(0),
            bb("ls", "-l", "missing-dir").status(1),
            bb("tr", "a-z", "A-Z").stdin("prose.txt").status(0),
            bb("tr", "-d", "aeiou").stdin("words.txt").status(0),
            bb("tr", "-s", " \\t").stdin("prose.txt").status(0),
            bb("tr", "-cd", "[:alnum:]\\n").stdin("prose.txt").status(0),
            bb("base64", "binary.bin").status(0),
            bb("base64", "-d").stdin("prose.b64").status(0),
            bb("cat", "prose.txt", "binary.bin").status(0),
            bb("cat", "/nonexistent-herd-file").status(1),
            bb("false").status(1),
            bb("true").status(0));

    static Stream<Arguments> cases() {
        return Differential.inAllModes(CASES);
    }

    @ParameterizedTest(name = "busybox {0} [{1}]")
    @MethodSource("cases")
    void sameAsNative(GuestCase guest, Mode mode) throws IOException {
        Differential.check(guest, mode);
    }
}
