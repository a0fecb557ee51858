package dev.herd.runtime.loader;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Mapping;
import dev.herd.memory.Prot;
import dev.herd.runtime.loader.ElfFile.ProgramHeader;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.Function;

import static dev.herd.runtime.loader.ElfFile.PAGE_SIZE;
import static dev.herd.runtime.loader.ElfFile.pageDown;
import static dev.herd.runtime.loader.ElfFile.pageUp;

/**
 * Maps an ELF executable (and its interpreter, for dynamically linked programs) into a fresh
 * guest address space, the way Linux's {@code load_elf_binary} does, and sets the program break.
 *
 * <h2>Placement</h2>
 * <ul>
 * <li>ET_EXEC: at its fixed p_vaddr addresses (bias 0). Segments below 0x10000 are refused, as
 *     Linux's default {@code vm.mmap_min_addr} does.</li>
 * <li>ET_DYN main program (static-PIE, or PIE with PT_INTERP): at {@link #dynBase(long)}, Linux's
 *     x86_64 {@code ELF_ET_DYN_BASE} rule (2/3 of the user address space, page-aligned) applied to
 *     Herd's guest space: {@code 0x555555554000} for a full 47-bit space, {@code 0xaaaaaaa000} for
 *     the default 1 TiB. No randomisation (Herd runs are meant to be reproducible), and the base is
 *     raised to the largest PT_LOAD p_align, as Linux does since 5.10. Linux puts a static-PIE
 *     (ET_DYN without PT_INTERP) into the mmap region instead; Herd uses the same base for both so
 *     the program and its brk sit far from the mmap area and the stack.</li>
 * <li>Interpreter: just below the stack's reserved area ({@link InitialStack#defaultStackTop}
 *     minus the stack and a 128 MiB gap), like Linux's top-down mmap region under the stack. The
 *     address is computed, not left to the address space's mmap search, so it is deterministic and
 *     never collides with the stack mapped later.</li>
 * </ul>
 *
 * <h2>Mapping</h2>
 * The guest address space is one memfd arena, so a segment cannot be a private file mapping; each
 * PT_LOAD is mapped anonymous read-write, filled from the file with {@link FileChannel} reads in
 * 1 MiB chunks (never the whole file at once), and then {@code mprotect}ed to its final
 * protection. The bytes match what Linux's page-granular file mapping shows: the file's bytes from
 * the page containing p_offset, through the end of the last file page when the segment has no bss,
 * and zeros from p_filesz to the end of the last page (and whole zero pages beyond) when
 * p_memsz &gt; p_filesz. Segments sharing a page: the later one's contents and protection win that
 * page, as on Linux.
 *
 * <p>Thread-safety: call before any guest thread runs; not concurrently on one address space.
 */
public final class ElfLoader {
    private ElfLoader() {}

    /** Linux's default vm.mmap_min_addr: fixed segments below it are refused. */
    public static final long MMAP_MIN_ADDR = 0x10000;
    /** Gap left between the interpreter and the bottom of the stack area (Linux's minimum mmap gap). */
    public static final long INTERP_STACK_GAP = 128L << 20;
    private static final int CHUNK = 1 << 20;

    /**
     * Loads a program that must be statically linked (no PT_INTERP).
     *
     * @throws ExecFormatException the program cannot be loaded (message says why), including
     *                             "dynamically linked programs are not supported ..." for PT_INTERP
     */
    public static LoadedImage load(GuestAddressSpace as, ElfFile elf, Path hostPath) throws IOException, ExecFormatException {
        return load(as, elf, hostPath, null);
    }

    /**
     * Loads a program and, if it has PT_INTERP, its interpreter; sets the program break.
     *
     * @param as                  a fresh address space (nothing mapped where the image goes)
     * @param elf                 the program's validated headers (from {@link ElfFile#read(Path)})
     * @param hostPath            host path of the same file, read for segment contents
     * @param interpreterResolver maps the PT_INTERP string (a guest path) to a host path, applying
     *                            rootfs confinement; returns null if it does not exist. Null means
     *                            dynamically linked programs are refused.
     * @throws ExecFormatException the program or its interpreter cannot be loaded (message says why)
     * @throws IOException         a file could not be read
     */
    public static LoadedImage load(GuestAddressSpace as, ElfFile elf, Path hostPath,
                                   Function<String, Path> interpreterResolver) throws IOException, ExecFormatException {
        if (elf.machine() != ElfFile.Machine.X86_64) {
            throw new ExecFormatException("ELF for " + elf.machine().linuxName() + " is not supported yet");
        }
        ElfFile interp = null;
        Path interpHost = null;
        if (elf.isDynamic()) {
            if (interpreterResolver == null) {
                throw new ExecFormatException("dynamically linked programs are not supported yet (PT_INTERP "
                        + elf.interpreter() + ")");
            }
            interpHost = interpreterResolver.apply(elf.interpreter());
            if (interpHost == null) {
                throw new ExecFormatException("ELF interpreter " + elf.interpreter() + " not found");
            }
            try {
                interp = ElfFile.read(interpHost);
            } catch (ExecFormatException e) {
                throw new ExecFormatException("ELF interpreter " + elf.interpreter() + ": " + e.getMessage());
            } catch (IOException e) {
                throw new ExecFormatException("cannot read ELF interpreter " + elf.interpreter() + ": " + ioMessage(e));
            }
            if (interp.isDynamic()) {
                throw new ExecFormatException("ELF interpreter " + elf.interpreter() + " has a PT_INTERP of its own");
            }
            if (interp.machine() != elf.machine()) {
                throw new ExecFormatException("ELF interpreter " + elf.interpreter() + " is for another architecture");
            }
        }

        long size = as.size();
        long bias;
        if (elf.isPositionIndependent()) {
            bias = alignUp(dynBase(size), elf.maxAlign()) - elf.imageStart();
        } else {
            bias = 0;
            for (ProgramHeader p : elf.loads()) {
                if (p.memsz() != 0 && pageDown(p.vaddr()) < MMAP_MIN_ADDR) {
                    throw new ExecFormatException(String.format(
                            "PT_LOAD segment %d at 0x%x is below the lowest mappable address 0x%x",
                            p.index(), p.vaddr(), MMAP_MIN_ADDR));
                }
            }
        }
        long imageStart = bias + elf.imageStart();
        long imageEnd = bias + elf.imageEnd();
        if (imageEnd > size) {
            throw new ExecFormatException(String.format(
                    "program image 0x%x-0x%x does not fit in the guest address space (size 0x%x)", imageStart, imageEnd, size));
        }
        requireFree(as, imageStart, imageEnd, "program image");
        mapSegments(as, elf, hostPath, bias);

        long interpBase = 0, interpEntry = 0;
        if (interp != null) {
            long span = interp.imageEnd() - interp.imageStart();
            long align = interp.maxAlign();
            long top = InitialStack.defaultStackTop(size) - InitialStack.DEFAULT_STACK_SIZE - INTERP_STACK_GAP;
            long start = (top - span) & -align;
            if (interp.isPositionIndependent()) {
                if (start < imageEnd) {
                    throw new ExecFormatException("no room for the ELF interpreter in the guest address space");
                }
                interpBase = start - interp.imageStart();
            } else {
                interpBase = 0; // an ET_EXEC interpreter has fixed addresses, AT_BASE is then 0 on Linux too
            }
            long is = interpBase + interp.imageStart(), ie = interpBase + interp.imageEnd();
            if (ie > size) throw new ExecFormatException("ELF interpreter " + elf.interpreter() + " does not fit in the guest address space");
            requireFree(as, is, ie, "ELF interpreter " + elf.interpreter());
            mapSegments(as, interp, interpHost, interpBase);
            interpEntry = interpBase + interp.entry();
        }

        // Linux sets the break at the end of the main program's bss, page-aligned (and randomises it;
        // Herd does not).
        long brk = imageEnd;
        as.initBrk(brk);

        long phdrVaddr = elf.phdrVaddr();
        long phdrAddr = phdrVaddr < 0 ? 0 : bias + phdrVaddr;
        return new LoadedImage(elf.machine(), bias, bias + elf.entry(), phdrAddr, elf.phnum(), elf.phentsize(),
                imageStart, imageEnd, brk, elf.interpreter(), interpBase, interpEntry, elf.stackExecutable());
    }

    /**
     * Base for a position-independent main program: Linux's x86_64 ELF_ET_DYN_BASE rule,
     * {@code (user space size / 3) * 2} page-aligned, with the user space size being the guest
     * space size capped at the 47-bit user limit. Gives 0x555555554000 for a 128 TiB space and
     * 0xaaaaaaa000 for the default 1 TiB.
     */
    public static long dynBase(long guestSpaceSize) {
        long userSize = Math.min(guestSpaceSize, ElfFile.USER_ADDRESS_LIMIT);
        return pageDown(userSize / 3 * 2);
    }

    private static void mapSegments(GuestAddressSpace as, ElfFile elf, Path hostPath, long bias)
            throws IOException, ExecFormatException {
        try (FileChannel ch = FileChannel.open(hostPath, StandardOpenOption.READ)) {
            if (ch.size() != elf.fileSize()) {
                throw new ExecFormatException("file changed size while being loaded");
            }
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK, Math.max(PAGE_SIZE, elf.fileSize())));
            for (ProgramHeader p : elf.loads()) {
                if (p.memsz() == 0) continue;
                mapSegment(as, ch, elf.fileSize(), buf, p, bias);
            }
        }
    }

    private static void mapSegment(GuestAddressSpace as, FileChannel ch, long fileSize, ByteBuffer buf,
                                   ProgramHeader p, long bias) throws IOException, ExecFormatException {
        long vaddr = bias + p.vaddr();
        long start = pageDown(vaddr);
        long end = pageUp(vaddr + p.memsz());
        try {
            long got = as.mmap(start, end - start, Prot.READ | Prot.WRITE,
                    MapFlags.PRIVATE | MapFlags.ANONYMOUS | MapFlags.FIXED, -1, 0);
            if (got != start) throw new ErrnoException(Errno.ENOMEM);

            // File range to copy: from the page holding p_offset; through the end of that last
            // file page if there is no bss (Linux maps whole file pages), else exactly to p_filesz
            // (Linux zeroes the rest of the page for the bss). Anonymous pages are already zero.
            long fileFrom = pageDown(p.offset());
            long fileTo = p.offset() + p.filesz();
            if (p.memsz() == p.filesz()) fileTo = Math.min(fileSize, pageUp(fileTo));
            copy(as.memory(), ch, buf, fileFrom, fileTo, start);

            int prot = (p.readable() ? Prot.READ : 0) | (p.writable() ? Prot.WRITE : 0) | (p.executable() ? Prot.EXEC : 0);
            if (prot != (Prot.READ | Prot.WRITE)) as.mprotect(start, end - start, prot);
        } catch (ErrnoException e) {
            throw new ExecFormatException(String.format("cannot map PT_LOAD segment %d at 0x%x-0x%x: %s",
                    p.index(), start, end, e.getMessage()));
        }
    }

    private static void copy(GuestMemory mem, FileChannel ch, ByteBuffer buf, long from, long to, long guest)
            throws IOException, ExecFormatException {
        long pos = from;
        while (pos < to) {
            buf.clear();
            buf.limit((int) Math.min(buf.capacity(), to - pos));
            int n = ch.read(buf, pos);
            if (n < 0) throw new ExecFormatException("file is truncated (it changed while being loaded)");
            mem.write(guest + (pos - from), buf.array(), 0, n);
            pos += n;
        }
    }

    private static void requireFree(GuestAddressSpace as, long start, long end, String what) throws ExecFormatException {
        for (Mapping m : as.mappings()) {
            if (m.start() < end && start < m.end()) {
                throw new ExecFormatException(String.format("%s 0x%x-0x%x overlaps an existing mapping 0x%x-0x%x",
                        what, start, end, m.start(), m.end()));
            }
        }
    }

    static long alignUp(long a, long align) { return (a + align - 1) & -align; }

    private static String ioMessage(IOException e) {
        String m = e.getMessage();
        if (e instanceof java.nio.file.NoSuchFileException) return "No such file or directory";
        if (e instanceof java.nio.file.AccessDeniedException) return "Permission denied";
        return m != null ? m : e.getClass().getSimpleName();
    }
}
