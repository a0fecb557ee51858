package dev.herd.runtime.cli;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The JVM's arguments and environment as the bytes the kernel gave it. Java decodes them with the
 * locale's charset (ASCII under LANG=C), which turns "ünïcödé" into replacement characters; a guest
 * must receive exactly what a native run would, so Herd reads {@code /proc/self/cmdline} and
 * {@code /proc/self/environ} and only falls back to Java's strings when those cannot be matched.
 */
final class RawCommandLine {
    private RawCommandLine() {}

    /** Raw bytes of {@code args} (the tail of the JVM's argv), element for element. */
    static List<byte[]> arguments(String[] args) {
        List<byte[]> raw = entries(Path.of("/proc/self/cmdline"));
        if (raw != null && raw.size() >= args.length) {
            List<byte[]> tail = raw.subList(raw.size() - args.length, raw.size());
            if (sameAsDecoded(tail, args)) return List.copyOf(tail);
        }
        return Arrays.stream(args).map(a -> a.getBytes(StandardCharsets.UTF_8)).toList();
    }

    /**
     * The JVM's initial environment, raw, less the variable bin/herd added for the JVM itself
     * (named by {@code -Dherd.jvm.sr.added}: HotSpot's suspend signal, see HostSignalCarrier).
     */
    static List<byte[]> environment() {
        List<byte[]> env = entries(Path.of("/proc/self/environ"));
        if (env == null) {
            env = new ArrayList<>();
            for (Map.Entry<String, String> e : System.getenv().entrySet()) {
                env.add((e.getKey() + "=" + e.getValue()).getBytes(StandardCharsets.UTF_8));
            }
        }
        String added = System.getProperty("herd.jvm.sr.added");
        if (added != null) {
            byte[] prefix = (added + "=").getBytes(StandardCharsets.UTF_8);
            env.removeIf(e -> e.length >= prefix.length && Arrays.equals(e, 0, prefix.length, prefix, 0, prefix.length));
        }
        return env;
    }

    private static boolean sameAsDecoded(List<byte[]> raw, String[] args) {
        Charset jnu = jnuCharset();
        for (int i = 0; i < args.length; i++) {
            if (!new String(raw.get(i), jnu).equals(args[i])) return false;
        }
        return true;
    }

    private static Charset jnuCharset() {
        try {
            return Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
        } catch (RuntimeException e) {
            return StandardCharsets.UTF_8;
        }
    }

    private static List<byte[]> entries(Path file) {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (IOException e) {
            return null;
        }
        return dev.herd.runtime.process.ChildHerd.nulSeparated(all);
    }
}
