package dev.herd.runtime.loader;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** Stack layout without guest memory: the bytes {@link InitialStack} would write, parsed back. */
class InitialStackTest {
    static final LoadedImage STATIC = new LoadedImage(ElfFile.Machine.X86_64, 0, 0x401bc0, 0x400040, 10, 56,
            0x400000, 0x4e5000, 0x4e5000, null, 0, 0, false);
    static final LoadedImage DYNAMIC = new LoadedImage(ElfFile.Machine.X86_64, 0xaaaaaaa000L, 0xaaaaaab060L,
            0xaaaaaaa040L, 13, 56, 0xaaaaaaa000L, 0xaaaaaae000L, 0xaaaaaae000L, "/lib64/ld-linux-x86-64.so.2",
            0xfef7000000L, 0xfef7001100L, false);
    static final long TOP = InitialStack.defaultStackTop(1L << 40);
    static final byte[] RANDOM = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    /** Reads a parsed stack image: guest address -> bytes in the layout buffer. */
    record Image(byte[] bytes, long sp) {
        ByteBuffer buf() { return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN); }
        long word(long addr) { return buf().getLong((int) (addr - sp)); }
        String cstring(long addr) {
            int o = (int) (addr - sp), e = o;
            while (bytes[e] != 0) e++;
            return new String(bytes, o, e - o, StandardCharsets.UTF_8);
        }
        byte[] slice(long addr, int len) { return Arrays.copyOfRange(bytes, (int) (addr - sp), (int) (addr - sp) + len); }
    }

    static InitialStack.Builder.Layout layout(LoadedImage img, List<String> argv, List<String> env) throws Exception {
        return InitialStack.layoutOnly(img).argv(argv).env(env).execFn("/bin/prog").random(RANDOM)
                .ids(1000, 1001, 100, 101).layout(TOP);
    }

    @Test
    void layoutMatchesLinuxForManyShapes() throws Exception {
        for (int argc = 0; argc < 6; argc++) {
            for (int envc = 0; envc < 5; envc++) {
                List<String> argv = new ArrayList<>(), env = new ArrayList<>();
                for (int i = 0; i < argc; i++) argv.add("arg" + "x".repeat(i * 3) + i);
                for (int i = 0; i < envc; i++) env.add("V" + i + "=" + "y".repeat(i * 5));
                check(STATIC, argv, env);
                check(DYNAMIC, argv, env);
            }
        }
    }

    private static void check(LoadedImage img, List<String> argv, List<String> env) throws Exception {
        var l = layout(img, argv, env);
        StartState s = l.state();
        Image im = new Image(l.bytes(), s.stackPointer());
        assertEquals(TOP, s.stackPointer() + l.bytes().length, "buffer spans [sp, top)");
        assertEquals(0, s.stackPointer() % 16, "rsp 16-byte aligned");
        assertEquals(img.startPc(), s.pc());
        assertEquals(0, im.word(TOP - 8), "end marker");

        // argc, argv, envp
        assertEquals(argv.size(), im.word(s.stackPointer()));
        assertEquals(s.stackPointer() + 8, s.argvAddress());
        for (int i = 0; i < argv.size(); i++) assertEquals(argv.get(i), im.cstring(im.word(s.argvAddress() + 8L * i)));
        assertEquals(0, im.word(s.argvAddress() + 8L * argv.size()));
        assertEquals(s.argvAddress() + 8L * (argv.size() + 1), s.envpAddress());
        for (int i = 0; i < env.size(); i++) assertEquals(env.get(i), im.cstring(im.word(s.envpAddress() + 8L * i)));
        assertEquals(0, im.word(s.envpAddress() + 8L * env.size()));
        assertEquals(s.envpAddress() + 8L * (env.size() + 1), s.auxvAddress());

        // auxv in memory equals the returned list, AT_NULL-terminated
        List<Auxv.Entry> aux = s.auxv();
        for (int i = 0; i < aux.size(); i++) {
            assertEquals(aux.get(i).type(), im.word(s.auxvAddress() + 16L * i));
            assertEquals(aux.get(i).value(), im.word(s.auxvAddress() + 16L * i + 8));
        }
        assertEquals(Auxv.AT_NULL, aux.getLast().type());
        assertArrayEquals(s.auxvBytes(), im.slice(s.auxvAddress(), aux.size() * 16));

        // auxv values
        assertEquals(img.phdrAddr(), s.auxv(Auxv.AT_PHDR));
        assertEquals(56, s.auxv(Auxv.AT_PHENT));
        assertEquals(img.phnum(), s.auxv(Auxv.AT_PHNUM));
        assertEquals(img.interpreterBase(), s.auxv(Auxv.AT_BASE));
        assertEquals(img.entry(), s.auxv(Auxv.AT_ENTRY));
        assertEquals(4096, s.auxv(Auxv.AT_PAGESZ));
        assertEquals(100, s.auxv(Auxv.AT_CLKTCK));
        assertEquals(1000, s.auxv(Auxv.AT_UID));
        assertEquals(1001, s.auxv(Auxv.AT_EUID));
        assertEquals(100, s.auxv(Auxv.AT_GID));
        assertEquals(101, s.auxv(Auxv.AT_EGID));
        assertEquals(0, s.auxv(Auxv.AT_SECURE));
        assertEquals(InitialStack.DEFAULT_HWCAP, s.auxv(Auxv.AT_HWCAP));
        assertEquals(-1, s.auxv(Auxv.AT_SYSINFO_EHDR), "no vDSO");
        assertEquals(s.randomAddress(), s.auxv(Auxv.AT_RANDOM));
        assertArrayEquals(RANDOM, im.slice(s.randomAddress(), 16));
        assertEquals(s.platformAddress(), s.auxv(Auxv.AT_PLATFORM));
        assertEquals("x86_64", im.cstring(s.platformAddress()));
        assertEquals(s.execFnAddress(), s.auxv(Auxv.AT_EXECFN));
        assertEquals("/bin/prog", im.cstring(s.execFnAddress()));

        // Linux's placement: execfn right under the marker, env strings under it, argv strings
        // under those (argv[0] lowest), then 16-byte alignment, platform, random, then the tables.
        assertEquals(TOP - 8 - "/bin/prog".length() - 1, s.execFnAddress());
        long p = s.execFnAddress();
        for (int i = env.size() - 1; i >= 0; i--) { p -= env.get(i).length() + 1; assertEquals(p, im.word(s.envpAddress() + 8L * i)); }
        for (int i = argv.size() - 1; i >= 0; i--) { p -= argv.get(i).length() + 1; assertEquals(p, im.word(s.argvAddress() + 8L * i)); }
        assertEquals((p & ~15L) - 7, s.platformAddress());
        assertEquals(s.platformAddress() - 16, s.randomAddress());
        long tablesEnd = s.auxvAddress() + aux.size() * 16L;
        assertTrue(tablesEnd <= s.randomAddress() && s.randomAddress() - tablesEnd < 16, "gap below AT_RANDOM is the alignment slack only");
    }

    @Test
    void auxvOrderMatchesTheHostKernel() throws Exception {
        // The host's own auxv (glibc prints it in order); Herd omits what it does not provide.
        String out = TestBinaries.run("env", "LD_SHOW_AUXV=1", "/bin/true");
        Matcher m = Pattern.compile("^(AT_[A-Z0-9_]+):", Pattern.MULTILINE).matcher(out);
        List<String> host = new ArrayList<>();
        while (m.find()) host.add(m.group(1));
        org.junit.jupiter.api.Assumptions.assumeTrue(host.size() > 5, "LD_SHOW_AUXV not supported: " + out);
        host.removeIf(n -> n.equals("AT_SYSINFO_EHDR") || n.equals("AT_BASE_PLATFORM") || n.startsWith("AT_RSEQ") || n.equals("AT_HWCAP3") || n.equals("AT_HWCAP4"));
        List<String> ours = new ArrayList<>();
        for (Auxv.Entry e : layout(DYNAMIC, List.of("a"), List.of()).state().auxv()) {
            if (e.type() != Auxv.AT_NULL) ours.add(Auxv.name(e.type()));
        }
        assertEquals(host, ours);
    }

    @Test
    void argumentLimits() {
        String big = "x".repeat(InitialStack.MAX_ARG_STRLEN);
        var e = assertThrows(ExecFormatException.class, () -> layout(STATIC, List.of("prog", big), List.of()));
        assertEquals("argument list too long", e.getMessage());
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 40; i++) many.add("y".repeat(100_000));
        assertThrows(ExecFormatException.class, () -> layout(STATIC, List.of("prog"), many));
        // Just under a single string's limit is fine.
        assertDoesNotThrow(() -> layout(STATIC, List.of("prog", "x".repeat(InitialStack.MAX_ARG_STRLEN - 1)), List.of()));
    }

    @Test
    void defaultsWithoutOverrides() throws Exception {
        var l = InitialStack.layoutOnly(STATIC).argv(List.of("busybox", "true")).layout(TOP);
        StartState s = l.state();
        Image im = new Image(l.bytes(), s.stackPointer());
        assertEquals("busybox", im.cstring(s.execFnAddress()), "AT_EXECFN defaults to argv[0]");
        assertTrue(s.auxv(Auxv.AT_UID) >= 0);
        assertFalse(Arrays.equals(new byte[16], im.slice(s.randomAddress(), 16)), "SecureRandom bytes");
    }

    @Test
    void stackTopChoice() {
        assertEquals((1L << 40) - (4L << 30), InitialStack.defaultStackTop(1L << 40));
        assertEquals((16L << 30) - (1L << 30), InitialStack.defaultStackTop(16L << 30));
        assertEquals(0, InitialStack.defaultStackTop(1L << 40) % 4096);
        assertEquals(0x555555554000L, ElfLoader.dynBase(1L << 47));
        assertEquals(0xaaaaaaa000L, ElfLoader.dynBase(1L << 40));
    }
}
