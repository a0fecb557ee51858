package dev.herd.threads.atomics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herd.memory.Prot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pins the Capstone 4 struct offsets used by {@link Capstone} against the installed header, and decoding rules. */
class CapstoneLayoutTest {
    @Test
    void offsetsMatchTheHeader(@TempDir Path dir) throws IOException {
        Assumptions.assumeTrue(Asm.exists("gcc") && Files.exists(Path.of("/usr/include/capstone/capstone.h")), "gcc or capstone headers missing");
        Files.writeString(dir.resolve("probe.c"), """
                #include <stdio.h>
                #include <stddef.h>
                #include <capstone/capstone.h>
                #define P(n, v) printf("%s %ld\\n", n, (long)(v))
                int main(void) {
                  P("INSN_ID", offsetof(cs_insn, id)); P("INSN_ADDRESS", offsetof(cs_insn, address));
                  P("INSN_SIZE", offsetof(cs_insn, size)); P("INSN_BYTES", offsetof(cs_insn, bytes));
                  P("INSN_DETAIL", offsetof(cs_insn, detail)); P("INSN_SIZEOF", sizeof(cs_insn));
                  P("DETAIL_X86", offsetof(cs_detail, x86));
                  P("X86_PREFIX", offsetof(cs_x86, prefix)); P("X86_ADDR_SIZE", offsetof(cs_x86, addr_size));
                  P("X86_DISP", offsetof(cs_x86, disp)); P("X86_OP_COUNT", offsetof(cs_x86, op_count));
                  P("X86_OPERANDS", offsetof(cs_x86, operands)); P("X86_OP_SIZEOF", sizeof(cs_x86_op));
                  P("OP_TYPE", offsetof(cs_x86_op, type)); P("OP_REG", offsetof(cs_x86_op, reg));
                  P("OP_IMM", offsetof(cs_x86_op, imm)); P("OP_MEM", offsetof(cs_x86_op, mem)); P("OP_SIZE", offsetof(cs_x86_op, size));
                  P("MEM_SEGMENT", offsetof(x86_op_mem, segment)); P("MEM_BASE", offsetof(x86_op_mem, base));
                  P("MEM_INDEX", offsetof(x86_op_mem, index)); P("MEM_SCALE", offsetof(x86_op_mem, scale));
                  P("MEM_DISP", offsetof(x86_op_mem, disp));
                  P("CS_ARCH_X86", CS_ARCH_X86); P("CS_MODE_64", CS_MODE_64); P("CS_OPT_DETAIL", CS_OPT_DETAIL);
                  P("CS_OPT_ON", CS_OPT_ON); P("X86_OP_REG", X86_OP_REG); P("X86_OP_IMM", X86_OP_IMM); P("X86_OP_MEM", X86_OP_MEM);
                  P("VERSION", CS_API_MAJOR << 8 | CS_API_MINOR);
                  return 0;
                }
                """);
        Asm.run(dir, "gcc", "-o", "probe", "probe.c");
        Map<String, Long> v = new HashMap<>();
        for (String l : Asm.run(dir, dir.resolve("probe").toString()).lines().toList()) {
            String[] f = l.split(" ");
            v.put(f[0], Long.parseLong(f[1]));
        }
        assertEquals(v.get("VERSION").intValue(), Capstone.version(), "header vs library version");
        assertEquals(v.get("INSN_ID"), Capstone.INSN_ID);
        assertEquals(v.get("INSN_ADDRESS"), Capstone.INSN_ADDRESS);
        assertEquals(v.get("INSN_SIZE"), Capstone.INSN_SIZE);
        assertEquals(v.get("INSN_BYTES"), Capstone.INSN_BYTES);
        assertEquals(v.get("INSN_DETAIL"), Capstone.INSN_DETAIL);
        assertEquals(v.get("INSN_SIZEOF"), Capstone.INSN_SIZEOF);
        assertEquals(v.get("DETAIL_X86"), Capstone.DETAIL_X86);
        assertEquals(v.get("X86_PREFIX"), Capstone.X86_PREFIX);
        assertEquals(v.get("X86_ADDR_SIZE"), Capstone.X86_ADDR_SIZE);
        assertEquals(v.get("X86_DISP"), Capstone.X86_DISP);
        assertEquals(v.get("X86_OP_COUNT"), Capstone.X86_OP_COUNT);
        assertEquals(v.get("X86_OPERANDS"), Capstone.X86_OPERANDS);
        assertEquals(v.get("X86_OP_SIZEOF"), Capstone.X86_OP_SIZEOF);
        assertEquals(v.get("OP_TYPE"), Capstone.OP_TYPE);
        assertEquals(v.get("OP_REG"), Capstone.OP_REG);
        assertEquals(v.get("OP_IMM"), Capstone.OP_IMM);
        assertEquals(v.get("OP_MEM"), Capstone.OP_MEM);
        assertEquals(v.get("OP_SIZE"), Capstone.OP_SIZE);
        assertEquals(v.get("MEM_SEGMENT"), Capstone.MEM_SEGMENT);
        assertEquals(v.get("MEM_BASE"), Capstone.MEM_BASE);
        assertEquals(v.get("MEM_INDEX"), Capstone.MEM_INDEX);
        assertEquals(v.get("MEM_SCALE"), Capstone.MEM_SCALE);
        assertEquals(v.get("MEM_DISP"), Capstone.MEM_DISP);
        assertEquals(v.get("CS_ARCH_X86").intValue(), Capstone.CS_ARCH_X86);
        assertEquals(v.get("CS_MODE_64").intValue(), Capstone.CS_MODE_64);
        assertEquals(v.get("CS_OPT_DETAIL").intValue(), Capstone.CS_OPT_DETAIL);
        assertEquals(v.get("CS_OPT_ON").intValue(), Capstone.CS_OPT_ON);
        assertEquals(v.get("X86_OP_REG").intValue(), Capstone.X86_OP_REG);
        assertEquals(v.get("X86_OP_IMM").intValue(), Capstone.X86_OP_IMM);
        assertEquals(v.get("X86_OP_MEM").intValue(), Capstone.X86_OP_MEM);
    }

    @Test
    void nonAtomicFormsAreNotSites() {
        Assumptions.assumeTrue(Asm.available(), "binutils not installed");
        String body = String.join("\n",
                "add qword ptr [rdi], 1", "xchg rax, rbx", "nop", "cmpxchg qword ptr [rdi], rbx", "cmpxchg16b xmmword ptr [rdi]",
                "xadd qword ptr [rdi], rax", "bts qword ptr [rdi], 3", "lfence", "sfence", "mov rax, qword ptr [rdi]",
                "syscall", "lock add qword ptr [rdi], 1", "ret");
        byte[] code = Asm.assemble(body, Rig.CODE);
        try (Rig rig = new Rig(code)) {
            rig.scan();
            assertEquals(1, rig.sites.siteCount(), rig.sites.sites().toString());
            Site s = rig.sites.sites().getFirst();
            assertEquals("add", Site.NAMES[s.kind]);
            assertEquals(8, s.size);
            // a real syscall is not a site
            long syscallPc = s.pc - 2;
            assertEquals(0x0f, rig.as.memory().read(syscallPc, 1)[0]);
            assertTrue(rig.sites.site(syscallPc) == null);
            // the guest overwrites the patch (e.g. a JIT): a rescan drops the stale site
            rig.as.writeIgnoringProtection(s.pc, new byte[] {(byte) 0x90, (byte) 0x90}, 0, 2);
            rig.scan();
            assertEquals(0, rig.sites.siteCount());
            // fresh code at the same place: found again
            rig.as.writeIgnoringProtection(s.pc, s.original, 0, s.original.length);
            rig.scan();
            assertEquals(1, rig.sites.siteCount());
            rig.sites.forget(Rig.CODE, Rig.CODE + Rig.CODE_SIZE);
            assertEquals(0, rig.sites.siteCount());
            assertTrue(Prot.EXEC != 0);
        }
    }

    @Test
    void noPatchingDoesNothing() {
        NoAtomicPatching n = new NoAtomicPatching();
        n.scan(0, 1 << 20);
        n.forget(0, 1 << 20);
        assertEquals(0, n.siteCount());
        assertTrue(!n.execute(null, 0x1000));
    }
}
