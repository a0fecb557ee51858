package dev.herd;

import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.UcArch;
import dev.herd.unicorn.aarch64.Arm64Reg;
import dev.herd.unicorn.x86_64.X86Reg;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The registers of a guest thread stopped at a hook (syscall, code or memory hook), by the names
 * of the guest's architecture (x86_64: {@code rax}, {@code rip}, ...; aarch64: {@code x0},
 * {@code pc}, {@code sp}, {@code tpidr_el0}, ...); {@link #pc()} and {@link #sp()} on both. Valid
 * only during that hook's callback and only on the thread running it: afterwards every method
 * throws {@link IllegalStateException}. Writes take effect when the guest resumes; writing
 * {@code rip} from a code hook redirects execution. Inside a syscall hook, {@code rax} holds the
 * syscall number on entry; change the result with {@link SyscallEvent#setReturn} rather than by
 * writing {@code rax}.
 */
public final class GuestRegisters {
    private static final Map<String, Integer> X86_64 = names(X86Reg.class), AARCH64 = names(Arm64Reg.class);

    private final Unicorn engine;
    private final Thread owner = Thread.currentThread();
    private boolean valid = true;

    GuestRegisters(Unicorn engine) {
        this.engine = engine;
    }

    private static Map<String, Integer> names(Class<?> registers) {
        Map<String, Integer> m = new HashMap<>();
        for (Field f : registers.getFields()) {
            if (f.getType() == int.class && Modifier.isStatic(f.getModifiers())) {
                try {
                    m.put(f.getName().toLowerCase(Locale.ROOT), f.getInt(null));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return Map.copyOf(m);
    }

    void invalidate() { valid = false; }

    private void check() {
        if (!valid || Thread.currentThread() != owner) {
            throw new IllegalStateException("registers are only valid during the hook's callback, on its thread");
        }
    }

    private boolean aarch64() { return engine.arch() == UcArch.ARM64; }

    private int id(String name) {
        Integer id = (aarch64() ? AARCH64 : X86_64).get(name.toLowerCase(Locale.ROOT));
        if (id == null) throw new IllegalArgumentException("unknown " + (aarch64() ? "aarch64" : "x86_64") + " register " + name);
        return id;
    }

    private long x86(int register) {
        check();
        if (aarch64()) throw new IllegalStateException("an x86_64 register of an aarch64 guest: use read(name), pc() or sp()");
        return engine.regRead(register);
    }

    /** @return the program counter (x86_64 rip, aarch64 pc) */
    public long pc() { check(); return engine.regRead(aarch64() ? Arm64Reg.PC : X86Reg.RIP); }
    /** @return the stack pointer (x86_64 rsp, aarch64 sp) */
    public long sp() { check(); return engine.regRead(aarch64() ? Arm64Reg.SP : X86Reg.RSP); }

    /**
     * Reads a 64-bit (or narrower, zero-extended) register by its Unicorn name, case-insensitive:
     * {@code rax}..{@code r15}, {@code rip}, {@code rflags}, {@code fs_base}, {@code eax}, ...
     *
     * @param name register name
     * @return its value
     */
    public long read(String name) {
        check();
        return engine.regRead(id(name));
    }

    /**
     * Writes a register by name (see {@link #read}).
     *
     * @param name  register name
     * @param value new value
     */
    public void write(String name, long value) {
        check();
        engine.regWrite(id(name), value);
    }

    /** @return the instruction pointer */
    public long rip() { return x86(X86Reg.RIP); }
    /** @return the stack pointer */
    public long rsp() { return x86(X86Reg.RSP); }
    /** @return RAX */
    public long rax() { return x86(X86Reg.RAX); }
    /** @return RDI (first argument register) */
    public long rdi() { return x86(X86Reg.RDI); }
    /** @return RSI (second argument register) */
    public long rsi() { return x86(X86Reg.RSI); }
    /** @return RDX (third argument register) */
    public long rdx() { return x86(X86Reg.RDX); }
}
