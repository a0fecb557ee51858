package dev.herd.threads.atomics;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Test helper: assembles Intel-syntax x86-64 with binutils (as, ld, objcopy) into a flat image. */
final class Asm {
    private Asm() {}

    static boolean available() {
        return exists("as") && exists("ld") && exists("objcopy");
    }

    static boolean exists(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) return true;
        }
        return false;
    }

    /** Assembles {@code body} (Intel syntax, no prefix) linked at {@code textAddr}; returns the .text bytes. */
    static byte[] assemble(String body, long textAddr) {
        return assemble(body, textAddr, -1);
    }

    /**
     * Like {@link #assemble(String, long)}; if {@code targetAddr >= 0}, a symbol {@code target} is
     * defined at that absolute address (a linked data section), so {@code [rip+target]} is truly
     * RIP-relative.
     */
    static byte[] assemble(String body, long textAddr, long targetAddr) {
        try {
            Path dir = Files.createTempDirectory("herd-asm");
            try {
                Path s = dir.resolve("a.s"), o = dir.resolve("a.o"), e = dir.resolve("a.elf"), b = dir.resolve("a.bin");
                String data = targetAddr >= 0 ? ".section .tgt,\"aw\"\ntarget:\n.quad 0\n" : "";
                Files.writeString(s, ".intel_syntax noprefix\n" + data + ".text\n.globl _start\n_start:\n" + body + "\n");
                run(dir, "as", "--64", "-o", o.toString(), s.toString());
                List<String> ld = new ArrayList<>(List.of("ld", "-static", "-nostdlib", "-Ttext=0x" + Long.toHexString(textAddr)));
                if (targetAddr >= 0) ld.add("--section-start=.tgt=0x" + Long.toHexString(targetAddr));
                ld.addAll(List.of("-e", "_start", "-o", e.toString(), o.toString()));
                run(dir, ld.toArray(String[]::new));
                run(dir, "objcopy", "-O", "binary", "-j", ".text", e.toString(), b.toString());
                return Files.readAllBytes(b);
            } finally {
                try (var st = Files.walk(dir)) {
                    st.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        } catch (IOException ex) {
            throw new RuntimeException(ex);
        }
    }

    static String run(Path dir, String... cmd) {
        try {
            Process p = new ProcessBuilder(List.of(cmd)).directory(dir.toFile()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + " failed:\n" + out);
            }
            return out;
        } catch (IOException | InterruptedException ex) {
            throw new RuntimeException(ex);
        }
    }

    static List<String> lines(String s) {
        return new ArrayList<>(s.lines().toList());
    }
}
