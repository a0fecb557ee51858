package dev.herd.unicorn;

import static org.junit.jupiter.api.Assertions.*;

import dev.herd.unicorn.aarch64.Arm64Cpu;
import dev.herd.unicorn.aarch64.Arm64Insn;
import dev.herd.unicorn.aarch64.Arm64Reg;
import dev.herd.unicorn.x86_64.X86Cpu;
import dev.herd.unicorn.x86_64.X86Insn;
import dev.herd.unicorn.x86_64.X86Reg;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Re-parses the installed Unicorn headers with a parser independent of the Python generator and
 * checks every generated constant (both directions: no header constant missing, no extra or
 * wrong Java constant). Skipped where the headers are not installed.
 */
class HeaderConstantsTest {
    static final Path INC = Path.of(System.getProperty("herd.unicorn.include", "/usr/include/unicorn"));

    @Test
    void x86() throws IOException {
        Map<String, Map<String, Long>> e = enums("x86.h");
        check(X86Reg.class, "UC_X86_REG_", e.get("uc_x86_reg"));
        check(X86Insn.class, "UC_X86_INS_", e.get("uc_x86_insn"));
        check(X86Cpu.class, "UC_CPU_X86_", e.get("uc_cpu_x86"));
        assertEquals(240, e.get("uc_x86_reg").size(), "sanity: header has the expected register count");
    }

    @Test
    void arm64() throws IOException {
        Map<String, Map<String, Long>> e = enums("arm64.h");
        check(Arm64Reg.class, "UC_ARM64_REG_", e.get("uc_arm64_reg"));
        check(Arm64Insn.class, "UC_ARM64_INS_", e.get("uc_arm64_insn"));
        check(Arm64Cpu.class, "UC_CPU_ARM64_", e.get("uc_cpu_arm64"));
    }

    @Test
    void unicorn() throws IOException {
        Map<String, Map<String, Long>> e = enums("unicorn.h");
        check(UcErr.class, "", e.get("uc_err"));
        check(UcMemType.class, "", e.get("uc_mem_type"));
        check(UcMode.class, "", e.get("uc_mode"));
        check(UcProt.class, "UC_PROT_", e.get("uc_prot"));
        check(UcQuery.class, "", e.get("uc_query_type"));
        check(UcCtl.class, "", e.get("uc_control_type"));
        Map<String, Long> hooks = new LinkedHashMap<>(e.get("uc_hook_type"));
        hooks.putAll(defines("unicorn.h", "UC_HOOK_", hooks));
        check(UcHook.class, "", hooks);
        Map<String, Long> arch = e.get("uc_arch");
        for (UcArch a : UcArch.values()) {
            assertEquals(arch.get("UC_ARCH_" + a.name()), (long) a.value(), a.name());
        }
        assertEquals(arch.size() - 1, UcArch.values().length, "every uc_arch except UC_ARCH_MAX");
        assertEquals("UC_ERR_READ_UNMAPPED", UcErr.nameOf(UcErr.UC_ERR_READ_UNMAPPED));
    }

    private static void check(Class<?> cls, String prefix, Map<String, Long> header) {
        assertNotNull(header, cls.getSimpleName() + ": enum not found in header");
        Map<String, Long> java = new TreeMap<>();
        for (Field f : cls.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class) {
                try {
                    String name = f.getName().startsWith("_") ? f.getName().substring(1) : f.getName();
                    java.put(prefix + name, (long) f.getInt(null));
                } catch (IllegalAccessException ex) {
                    throw new AssertionError(ex);
                }
            }
        }
        List<String> problems = new ArrayList<>();
        header.forEach((n, v) -> {
            if (!v.equals(java.get(n))) {
                problems.add(n + ": header " + v + ", Java " + java.get(n));
            }
        });
        java.keySet().stream().filter(n -> !header.containsKey(n)).forEach(n -> problems.add(n + ": not in header"));
        assertTrue(problems.isEmpty(), cls.getSimpleName() + ": " + problems);
    }

    private static String source(String file) throws IOException {
        Path p = INC.resolve(file);
        Assumptions.assumeTrue(Files.isReadable(p), "header " + p + " not installed");
        String s = Files.readString(p);
        s = s.replaceAll("(?s)/\\*.*?\\*/", "");
        s = s.replaceAll("//[^\n]*", "");
        return s.replace("\\\n", " ");
    }

    static Map<String, Map<String, Long>> enums(String file) throws IOException {
        String s = source(file);
        Map<String, Map<String, Long>> out = new LinkedHashMap<>();
        Matcher m = Pattern.compile("(?s)typedef\\s+enum\\s+(\\w+)\\s*\\{(.*?)\\}\\s*\\w+\\s*;").matcher(s);
        while (m.find()) {
            Map<String, Long> members = new LinkedHashMap<>();
            long next = 0;
            for (String item : m.group(2).split(",")) {
                item = item.strip();
                if (item.isEmpty()) {
                    continue;
                }
                int eq = item.indexOf('=');
                String name = eq < 0 ? item : item.substring(0, eq).strip();
                long v = eq < 0 ? next : new Expr(item.substring(eq + 1), members).parse();
                members.put(name, v);
                next = v + 1;
            }
            out.put(m.group(1), members);
        }
        return out;
    }

    static Map<String, Long> defines(String file, String prefix, Map<String, Long> env) throws IOException {
        Map<String, Long> res = new LinkedHashMap<>();
        Matcher m = Pattern.compile("(?m)^#define\\s+(" + prefix + "\\w*)\\s+(\\(.*\\))\\s*$").matcher(source(file));
        Map<String, Long> scope = new LinkedHashMap<>(env);
        while (m.find()) {
            long v = new Expr(m.group(2), scope).parse();
            res.put(m.group(1), v);
            scope.put(m.group(1), v);
        }
        return res;
    }

    /** Tiny evaluator for header expressions: integers, names, parentheses, {@code +}, {@code <<}. */
    static final class Expr {
        final String s;
        final Map<String, Long> env;
        int i;

        Expr(String s, Map<String, Long> env) {
            this.s = s;
            this.env = env;
        }

        long parse() {
            long v = shift();
            skip();
            if (i != s.length()) {
                throw new IllegalArgumentException("trailing input in '" + s + "'");
            }
            return v;
        }

        long shift() {
            long v = sum();
            while (peek("<<")) {
                i += 2;
                v <<= sum();
            }
            return v;
        }

        long sum() {
            long v = atom();
            while (peek("+")) {
                i++;
                v += atom();
            }
            return v;
        }

        long atom() {
            skip();
            if (s.charAt(i) == '(') {
                i++;
                long v = shift();
                skip();
                i++; // ')'
                return v;
            }
            int st = i;
            while (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '_')) {
                i++;
            }
            String tok = s.substring(st, i);
            if (Character.isDigit(tok.charAt(0))) {
                return tok.startsWith("0x") ? Long.parseLong(tok.substring(2), 16) : Long.parseLong(tok);
            }
            Long v = env.get(tok);
            if (v == null) {
                throw new IllegalArgumentException("unknown name " + tok + " in '" + s + "'");
            }
            return v;
        }

        boolean peek(String op) {
            skip();
            return s.startsWith(op, i);
        }

        void skip() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }
    }
}
