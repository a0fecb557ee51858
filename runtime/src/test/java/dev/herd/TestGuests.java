package dev.herd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Builds the C guests of src/test/c with {@code gcc -static} into target/test-guests, once. */
final class TestGuests {
    private TestGuests() {}

    static String path(String name) throws IOException, InterruptedException {
        return build("gcc", name, Path.of("target/test-guests", name));
    }

    /** The same guest for aarch64 ({@code aarch64-linux-gnu-gcc -static}). */
    static String aarch64(String name) throws IOException, InterruptedException {
        return build("aarch64-linux-gnu-gcc", name, Path.of("target/test-guests/aarch64", name));
    }

    private static synchronized String build(String cc, String name, Path target) throws IOException, InterruptedException {
        Path src = Path.of("src/test/c", name + ".c").toAbsolutePath();
        Path out = target.toAbsolutePath();
        if (Files.isRegularFile(out) && Files.getLastModifiedTime(out).compareTo(Files.getLastModifiedTime(src)) >= 0) {
            return out.toString();
        }
        Files.createDirectories(out.getParent());
        Path tmp = out.resolveSibling(name + ".tmp");
        Process p = new ProcessBuilder(cc, "-O2", "-static", "-pthread", "-Wall", "-o", tmp.toString(), src.toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IOException(cc + " " + name + ": " + log);
        Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return out.toString();
    }
}
