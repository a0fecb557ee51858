package dev.herd.threads.atomics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Prot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Scanning real compiler output: a static glibc program with __atomic builtins, checked against objdump. */
class AtomicScanTest {
    static final String PROGRAM = """
            #include <stdint.h>
            #include <stdio.h>
            __attribute__((noinline)) long bump(long *p) { return __atomic_fetch_add(p, 3, __ATOMIC_SEQ_CST); }
            __attribute__((noinline)) int swap(int *p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
            __attribute__((noinline)) int cas(short *p, short e, short d) {
                return __atomic_compare_exchange_n(p, &e, d, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            }
            __attribute__((noinline)) void orb(unsigned char *p) { __atomic_fetch_or(p, 0x80, __ATOMIC_SEQ_CST); }
            __attribute__((noinline)) void fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
            __attribute__((noinline)) int wide(__int128 *p, __int128 e, __int128 d) {
                return __sync_bool_compare_and_swap(p, e, d);
            }
            long x; int y; short z; unsigned char w; __int128 q __attribute__((aligned(16)));
            int main(void) {
                bump(&x); swap(&y, 4); cas(&z, 0, 1); orb(&w); fence(); wide(&q, 0, 1);
                printf("%ld %d %d %d\\n", x, y, z, w);
                return 0;
            }
            """;

    @Test
    void findsTheAtomicsOfAStaticBinary(@TempDir Path dir) throws IOException {
        Assumptions.assumeTrue(Asm.exists("gcc") && Asm.exists("objdump") && Asm.exists("objcopy") && Asm.exists("nm"), "toolchain missing");
        Files.writeString(dir.resolve("p.c"), PROGRAM);
        Asm.run(dir, "gcc", "-static", "-O2", "-mcx16", "-o", "p", "p.c");
        Asm.run(dir, "objcopy", "-O", "binary", "-j", ".text", "p", "text.bin");
        byte[] text = Files.readAllBytes(dir.resolve("text.bin"));
        long textAddr = sectionAddress(Asm.run(dir, "objdump", "-h", "p"), ".text");
        Map<String, Long> syms = symbols(Asm.run(dir, "nm", "p"));

        long start = textAddr & -GuestAddressSpace.PAGE;
        long end = (textAddr + text.length + GuestAddressSpace.PAGE - 1) & -GuestAddressSpace.PAGE;
        try (GuestAddressSpace as = GuestAddressSpace.create(1L << 32)) {
            as.mmap(start, end - start, Prot.READ | Prot.EXEC, MapFlags.PRIVATE | MapFlags.ANONYMOUS | MapFlags.FIXED, -1, 0);
            as.writeIgnoringProtection(textAddr, text, 0, text.length);
            AtomicSitesX86_64 sites = new AtomicSitesX86_64(as);
            long t0 = System.nanoTime();
            sites.scan(start, end);
            long scanNs = System.nanoTime() - t0;

            // objdump's view: every lock-prefixed instruction, xchg with memory, mfence
            String dis = Asm.run(dir, "objdump", "-d", "-j", ".text", "--no-show-raw-insn", "-M", "intel", "p");
            Set<Long> expected = new TreeSet<>();
            Pattern line = Pattern.compile("^\\s*([0-9a-f]+):\\s+(.*)$");
            for (String l : dis.lines().toList()) {
                Matcher m = line.matcher(l);
                if (!m.matches()) continue;
                String ins = m.group(2).trim();
                boolean lock = ins.startsWith("lock ") && ins.contains("PTR");
                boolean xchg = ins.startsWith("xchg ") && ins.contains("PTR");
                if (lock || xchg || ins.equals("mfence")) expected.add(Long.parseLong(m.group(1), 16));
            }
            Set<Long> found = new TreeSet<>();
            for (Site s : sites.sites()) found.add(s.pc);
            Set<Long> missing = new TreeSet<>(expected);
            missing.removeAll(found);
            Set<Long> extra = new TreeSet<>(found);
            extra.removeAll(expected);
            System.out.printf("scan of %d KiB text: %d sites (objdump: %d), missing %d, extra %d, %.1f ms%n", text.length / 1024,
                    found.size(), expected.size(), missing.size(), extra.size(), scanNs / 1e6);
            assertTrue(found.size() > 50, "static glibc has many atomics");
            assertTrue(missing.isEmpty(), "objdump atomics not found: " + hex(missing));
            assertTrue(extra.size() <= found.size() / 100, "sites objdump does not see: " + hex(extra));
            // the known functions' atomics
            for (String fn : List.of("bump", "swap", "cas", "orb", "wide")) {
                long a = syms.get(fn);
                assertTrue(found.stream().anyMatch(pc -> pc >= a && pc < a + 64), "no site in " + fn);
            }
            // every site is patched in memory
            for (Site s : sites.sites()) {
                byte[] now = as.memory().read(s.pc, s.length);
                assertEquals(0x0f, now[0] & 0xff);
                assertEquals(0x05, now[1] & 0xff);
            }
            // idempotent
            int n = sites.siteCount();
            sites.scan(start, end);
            assertEquals(n, sites.siteCount());
            sites.forget(start, end);
            assertEquals(0, sites.siteCount());
        }
    }

    static long sectionAddress(String objdumpH, String name) {
        for (String l : objdumpH.lines().toList()) {
            String[] f = l.trim().split("\\s+");
            if (f.length > 4 && f[1].equals(name)) return Long.parseLong(f[3], 16);
        }
        throw new AssertionError("no section " + name);
    }

    static Map<String, Long> symbols(String nm) {
        Map<String, Long> m = new HashMap<>();
        for (String l : nm.lines().toList()) {
            String[] f = l.trim().split("\\s+");
            if (f.length == 3) m.putIfAbsent(f[2], Long.parseLong(f[0], 16));
        }
        return m;
    }

    static String hex(Set<Long> s) {
        StringBuilder sb = new StringBuilder();
        for (long v : s) sb.append(Long.toHexString(v)).append(' ');
        return sb.toString();
    }
}
