package dev.herd;

import dev.herd.runtime.arch.x86_64.SyscallNumbersX86_64;

import java.util.HashMap;
import java.util.Map;

/** x86_64 syscall names and numbers, as hooks name them. */
public final class Syscalls {
    private static final Map<String, Integer> BY_NAME = byName();

    private Syscalls() {}

    private static Map<String, Integer> byName() {
        Map<String, Integer> m = new HashMap<>();
        for (int nr = 0; nr < SyscallNumbersX86_64.INSTANCE.count(); nr++) {
            String name = SyscallNumbersX86_64.INSTANCE.name(nr);
            if (name != null) m.putIfAbsent(name, nr);
        }
        return Map.copyOf(m);
    }

    /**
     * The number of a syscall given by Linux name ({@code "openat"}) or as a decimal number
     * ({@code "100000"}, for numbers no kernel has).
     *
     * @param nameOrNumber a name or a non-negative decimal number
     * @return the x86_64 syscall number
     * @throws IllegalArgumentException for an unknown name
     */
    public static int number(String nameOrNumber) {
        Integer nr = BY_NAME.get(nameOrNumber);
        if (nr != null) return nr;
        if (!nameOrNumber.isEmpty() && nameOrNumber.chars().allMatch(Character::isDigit)) {
            try {
                return Integer.parseInt(nameOrNumber);
            } catch (NumberFormatException e) {
                // too large: fall through
            }
        }
        throw new IllegalArgumentException("unknown x86_64 syscall " + nameOrNumber);
    }

    /**
     * The Linux name of an x86_64 syscall number.
     *
     * @param number a syscall number
     * @return its name, or null if the number has none
     */
    public static String name(long number) {
        return SyscallNumbersX86_64.INSTANCE.name(number);
    }
}
