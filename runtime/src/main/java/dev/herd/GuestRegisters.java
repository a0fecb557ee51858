package dev.herd;

import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.x86_64.X86Reg;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The x86_64 registers of a guest thread stopped at a hook (syscall, code or memory hook). Valid
 * only during that hook's callback and only on the thread running it: afterwards every method
 * throws {@link IllegalStateException}. Writes take effect when the guest resumes; writing
 * {@code rip} from a code hook redirects execution. Inside a syscall hook, {@code rax} holds the
 * syscall number on entry; change the result with {@link SyscallEvent#setReturn} rather than by
 * writing {@code rax}.
 */
public final class GuestRegisters {
    private static final Map<String, Integer> BY_NAME = names();

    private final Unicorn engine;
    private final Thread owner = Thread.currentThread();
    private boolean valid = true;

    GuestRegisters(Unicorn engine) {
        this.engine = engine;
    }

    private static Map<String, Integer> names() {
        Map<String, Integer> m = new HashMap<>();
        for (Field f : X86Reg.class.getFields()) {
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

    private static int id(String name) {
        Integer id = BY_NAME.get(name.toLowerCase(Locale.ROOT));
        if (id == null) throw new IllegalArgumentException("unknown x86_64 register " + name);
        return id;
    }

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
    public long rip() { check(); return engine.regRead(X86Reg.RIP); }
    /** @return the stack pointer */
    public long rsp() { check(); return engine.regRead(X86Reg.RSP); }
    /** @return RAX */
    public long rax() { check(); return engine.regRead(X86Reg.RAX); }
    /** @return RDI (first argument register) */
    public long rdi() { check(); return engine.regRead(X86Reg.RDI); }
    /** @return RSI (second argument register) */
    public long rsi() { check(); return engine.regRead(X86Reg.RSI); }
    /** @return RDX (third argument register) */
    public long rdx() { check(); return engine.regRead(X86Reg.RDX); }
}
