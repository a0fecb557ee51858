package dev.herd.stresstests;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

/**
 * Files for the busybox cases, written into each run's directory with fixed contents, modes and
 * modification times, so that {@code ls -l} and checksums are the same in both runs:
 * <ul>
 *   <li>{@code prose.txt words.txt numbers.txt table.txt} — from src/test/resources/fixtures</li>
 *   <li>{@code binary.bin} — 5000 pseudo-random bytes; {@code prose.b64} — base64 of prose.txt,
 *       wrapped at 76 like busybox; {@code sums.md5} — md5sum -c input with one wrong entry</li>
 *   <li>{@code tree/} — a small directory tree for ls</li>
 * </ul>
 */
final class Fixtures {
    private Fixtures() {}

    static final List<String> TEXT = List.of("prose.txt", "words.txt", "numbers.txt", "table.txt");
    static final FileTime MTIME = FileTime.from(Instant.parse("2020-01-02T03:04:05Z"));
    static final FileTime MTIME_NEWER = FileTime.from(Instant.parse("2021-06-07T08:09:10Z"));

    static void populate(Path dir) throws IOException {
        for (String name : TEXT) {
            try (InputStream in = Fixtures.class.getResourceAsStream("/fixtures/" + name)) {
                if (in == null) throw new IOException("missing test resource fixtures/" + name);
                Files.write(dir.resolve(name), in.readAllBytes());
            }
        }
        Files.write(dir.resolve("binary.bin"), pseudoRandom(5000, 0x9e3779b97f4a7c15L));
        byte[] prose = Files.readAllBytes(dir.resolve("prose.txt"));
        Files.writeString(dir.resolve("prose.b64"), wrap(Base64.getEncoder().encodeToString(prose), 76));
        Files.writeString(dir.resolve("sums.md5"),
                md5(prose) + "  prose.txt\n"
                        + md5(Files.readAllBytes(dir.resolve("binary.bin"))) + "  binary.bin\n"
                        + "00000000000000000000000000000000  words.txt\n");

        Path tree = Files.createDirectories(dir.resolve("tree"));
        Path sub = Files.createDirectories(tree.resolve("sub"));
        Files.createDirectories(tree.resolve("empty"));
        Files.writeString(tree.resolve("a.txt"), "alpha\n");
        Files.write(tree.resolve("big.dat"), pseudoRandom(70_000, 42));
        Files.writeString(tree.resolve("script.sh"), "#!/bin/sh\necho hi\n");
        Files.writeString(sub.resolve("nested.txt"), "nested file\n");
        Files.writeString(tree.resolve(".hidden"), "hidden\n");
        Files.createSymbolicLink(tree.resolve("link-to-a"), Path.of("a.txt"));

        // Fixed modes and times for everything (directories last, after their contents changed).
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                if (Files.isSymbolicLink(p)) continue;
                boolean d = Files.isDirectory(p);
                String mode = d ? "rwxr-xr-x" : p.getFileName().toString().endsWith(".sh") ? "rwxr-x---" : "rw-r--r--";
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
                Files.setLastModifiedTime(p, p.getFileName().toString().equals("a.txt") ? MTIME_NEWER : MTIME);
            }
        }
    }

    static byte[] pseudoRandom(int n, long seed) {
        byte[] b = new byte[n];
        long x = seed | 1;
        for (int i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b[i] = (byte) x;
        }
        return b;
    }

    private static String wrap(String s, int width) {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < s.length(); i += width) lines.add(s.substring(i, Math.min(s.length(), i + width)));
        return String.join("\n", lines) + "\n";
    }

    private static String md5(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static String ascii(byte[] b) {
        return new String(b, StandardCharsets.US_ASCII);
    }
}
