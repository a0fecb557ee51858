package dev.herd.stresstests;

import static dev.herd.stresstests.GuestCase.sys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Dynamically linked programs of the host's Debian system (ld.so, libc.so.6 and their libraries
 * loaded by the guest itself), natively and under herd in every mode, in a directory holding the
 * {@link Fixtures}. coreutils, grep, sed and perl-base are essential packages; a program that is not
 * installed (python3, mawk) is skipped, not failed. execve runs the new image in a child Herd (the
 * env and bash exec cases); programs that need fork are not here (ENOSYS so far).
 */
class DebianProgramsTest {

    static final List<GuestCase> CASES = List.of(
            sys("/usr/bin/sort", "-f", "-u", "words.txt").status(0),
            sys("/usr/bin/sort", "-t:", "-k3,3n", "-k1,1r", "table.txt").status(0),
            sys("/usr/bin/uniq", "-c").stdin("words.txt").status(0),
            sys("/usr/bin/sha256sum", "binary.bin", "prose.txt").status(0),
            sys("/usr/bin/md5sum", "-c", "sums.md5").status(1),
            sys("/usr/bin/wc", "-l", "-w", "-c", "prose.txt", "words.txt", "binary.bin").status(0),
            sys("/usr/bin/head", "-n", "3", "prose.txt").status(0),
            sys("/usr/bin/tail", "-c", "50", "prose.txt").status(0),
            sys("/usr/bin/cut", "-d:", "-f1,3", "table.txt").status(0),
            sys("/usr/bin/tr", "a-z", "A-Z").stdin("prose.txt").status(0),
            sys("/usr/bin/base64", "binary.bin").status(0),
            sys("/usr/bin/ls", "-l", "tree").status(0),
            sys("/usr/bin/ls", "-laR", "tree").status(0),
            sys("/usr/bin/seq", "-s", ",", "-w", "1", "12").status(0),
            sys("/usr/bin/cat", "/nonexistent-herd-file").status(1),
            sys("/usr/bin/grep", "-n", "the", "prose.txt").status(0),
            sys("/usr/bin/grep", "-c", "-i", "-E", "^(ap|ba)[a-z]+$", "words.txt").status(0),
            sys("/usr/bin/sed", "-e", "/^$/d", "-e", "s/[aeiou]//2", "-e", "y/abc/xyz/", "prose.txt").status(0),
            sys("/usr/bin/mawk", "-F:", "{ s += $3 } END { print s, NR, $1 }", "table.txt").status(0),
            sys("/usr/bin/perl", "-e", "my %n; $n{length $_}++ for map { chomp; $_ } <STDIN>; "
                    + "print map { \"$_ $n{$_}\\n\" } sort { $a <=> $b } keys %n").stdin("words.txt").status(0),
            sys("/usr/bin/python3", "-c", "import hashlib, json, re\n"
                    + "text = open('prose.txt').read()\n"
                    + "words = re.findall(r'[a-z]+', text.lower())\n"
                    + "print(hashlib.sha256(text.encode()).hexdigest(), len(words), sum(i * i for i in range(10**5)))\n"
                    + "print(json.dumps(sorted(set(words))[:5]))").status(0),
            sys("/usr/bin/bash", "-c", "for i in 1 2 3; do printf '%s-' \"$i\"; done; echo; read -r l < prose.txt; echo \"${#l}\"")
                    .status(0),
            sys("/usr/bin/env", "-i", "A=1", "B=two words", "/usr/bin/env").status(0),
            sys("/usr/bin/env", "/usr/bin/false").status(1),
            sys("/usr/bin/bash", "-c", "exec 3<words.txt; echo start; exec /usr/bin/head -n 2 /dev/fd/3").status(0));

    static Stream<Arguments> cases() {
        return Differential.inAllModes(CASES);
    }

    @ParameterizedTest(name = "{0} [{1}]")
    @MethodSource("cases")
    void sameAsNative(GuestCase guest, Mode mode) throws IOException {
        Assumptions.assumeTrue(Files.isExecutable(Path.of(guest.program())), guest.program() + " is not installed");
        Differential.check(guest, mode);
    }
}
