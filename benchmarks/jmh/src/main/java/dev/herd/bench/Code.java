package dev.herd.bench;

import dev.herd.unicorn.UcProt;
import dev.herd.unicorn.Unicorn;

/**
 * Hand-assembled x86-64 loops the engine benchmarks run (each counts RBX down to 0 and falls
 * through to its end address, where {@code emuStart(begin, until)} stops), and a helper that opens
 * an engine with private code and data regions.
 */
final class Code {
    static final long CODE = 0x100000, CODE_SIZE = 0x10000;
    static final long DATA = 0x200000, DATA_SIZE = 0x10000;

    /** A routine at {@code address}: run from there until {@code end}. */
    record Routine(long address, byte[] bytes) {
        long end() { return address + bytes.length; }
    }

    private static byte b(int v) { return (byte) v; }

    /** {@code L: syscall; dec ebx; jnz L}: one syscall-hook upcall per iteration. */
    static final Routine SYSCALL_LOOP = new Routine(CODE, new byte[] {
            0x0f, 0x05, b(0xff), b(0xcb), 0x75, b(0xfa)});
    /** {@code L: nop (66 90); dec ebx; jnz L}: the same loop without the hook (baseline). */
    static final Routine NOP_LOOP = new Routine(CODE + 0x100, new byte[] {
            0x66, b(0x90), b(0xff), b(0xcb), 0x75, b(0xfa)});
    /** {@code L: mov eax, 102 (getuid); syscall; dec ebx; jnz L}. */
    static final Routine GETUID_LOOP = new Routine(CODE + 0x200, new byte[] {
            b(0xb8), 0x66, 0, 0, 0, 0x0f, 0x05, b(0xff), b(0xcb), 0x75, b(0xf5)});
    /** {@code L: lock add qword ptr [rdi], 1; dec ebx; jnz L}: scanned and patched (atomic trap). */
    static final Routine LOCK_ADD_PATCHED = new Routine(CODE + 0x300, new byte[] {
            b(0xf0), 0x48, b(0x83), 0x07, 0x01, b(0xff), b(0xcb), 0x75, b(0xf7)});
    /** The same {@code lock add} loop, never patched (translator atomics, or torn stock code). */
    static final Routine LOCK_ADD = new Routine(CODE + 0x400, new byte[] {
            b(0xf0), 0x48, b(0x83), 0x07, 0x01, b(0xff), b(0xcb), 0x75, b(0xf7)});
    /** {@code L: add qword ptr [rdi], 1; dec ebx; jnz L}: the plain (non-atomic) baseline. */
    static final Routine PLAIN_ADD = new Routine(CODE + 0x500, new byte[] {
            0x48, b(0x83), 0x07, 0x01, b(0xff), b(0xcb), 0x75, b(0xf8)});
    /** {@code L: jmp L}: spins forever, one block per iteration (stop-request target). */
    static final Routine SPIN = new Routine(CODE + 0x600, new byte[] {b(0xeb), b(0xfe)});

    static final Routine[] ALL = {SYSCALL_LOOP, NOP_LOOP, GETUID_LOOP, LOCK_ADD_PATCHED, LOCK_ADD, PLAIN_ADD, SPIN};

    /** The code area's image: every routine at its address, NOPs elsewhere. */
    static byte[] image() {
        byte[] img = new byte[0x1000];
        java.util.Arrays.fill(img, b(0x90));
        for (Routine r : ALL) System.arraycopy(r.bytes, 0, img, (int) (r.address - CODE), r.bytes.length);
        return img;
    }

    /** An x86-64 engine with its own (private) code and data regions and the routines loaded. */
    static Unicorn privateEngine() {
        Unicorn u = Unicorn.openX86_64();
        u.memMap(CODE, CODE_SIZE, UcProt.READ | UcProt.EXEC);
        u.memMap(DATA, DATA_SIZE, UcProt.READ | UcProt.WRITE);
        u.memWrite(CODE, image());
        return u;
    }

    private Code() {}
}
