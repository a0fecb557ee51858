package dev.herd.runtime.loader;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Mapping;
import dev.herd.memory.Prot;
import dev.herd.runtime.loader.ElfFile.ProgramHeader;
import dev.herd.runtime.mm.CommitLimit;

import java.io.IOException;
import java.nio.file.Path;

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
 * <li>Interpreter: at the top of the mmap area, just below {@code GuestAddressSpace.mmapBase()},
 *     where Linux's top-down mmap puts it; later non-fixed mmaps (the libraries ld.so loads) then
 *     go below it. The address is computed rather than left to a non-fixed mmap so the image is
 *     placed as a whole, aligned to its largest p_align.</li>
 * </ul>
 *
 * <h2>Mapping</h2>
 * Each PT_LOAD's file pages are a MAP_PRIVATE file mapping of the program (host fd opened
 * read-only for the duration of the load; the address space copies the bytes into its arena and
 * records name and offset for /proc/self/maps), mapped with the segment's final protection. As on
 * Linux the guest sees whole file pages: the bytes before p_vaddr in the first page and after
 * p_filesz in the last page come from the file, except that when p_memsz &gt; p_filesz in a
 * writable segment the rest of the last file page is zeroed (Linux's padzero; in a read-only one
 * it fails and the file's bytes stay) and further bss pages are anonymous zero memory. Segments sharing a page: the later
 * one's contents and protection win that page, as on Linux. A segment whose mapping Linux's
 * overcommit check refuses (ENOMEM from elf_map or vm_brk_flags, after the point of no return:
 * SIGSEGV) is refused.
 *
 * <p>Thread-safety: call before any guest thread runs; not concurrently on one address space.
 */
public final class ElfLoader {
    private static final long PAGE = 4096;
    private ElfLoader() {}


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
     * @param interpreterResolver opens the PT_INTERP string (a guest path) the way the guest's own
     *                            open would, confined to the rootfs, and returns a host path that
     *                            reads that open file (a {@code /proc/self/fd/N} link, so nothing
     *                            is looked up by name again). Null means dynamically linked
     *                            programs are refused.
     * @throws ExecFormatException the program or its interpreter cannot be loaded (message says why)
     * @throws IOException         a file could not be read
     */
    public static LoadedImage load(GuestAddressSpace as, ElfFile elf, Path hostPath,
                                   InterpreterOpener interpreterResolver) throws IOException, ExecFormatException {
        ElfFile interp = null;
        Path interpHost = null;
        if (elf.isDynamic()) {
            if (interpreterResolver == null) {
                throw new ExecFormatException("dynamically linked programs are not supported yet (PT_INTERP "
                        + elf.interpreter() + ")");
            }
            interpHost = interpreterResolver.open(elf.interpreter());
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
        // Linux (load_elf_binary): a PIE program (ET_DYN with PT_INTERP) is loaded at
        // ELF_ET_DYN_BASE; an ET_DYN without one (a static PIE, or ld.so run as a program) is a
        // "loader" and goes into the mmap region, and its break then starts at ELF_ET_DYN_BASE,
        // away from the image, with room for the program such a loader may map.
        boolean loader = elf.isPositionIndependent() && interp == null;
        if (loader) {
            requireAlignmentFits(elf, size, "PT_LOAD alignment");
            long span = elf.imageEnd() - elf.imageStart();
            long start = (as.mmapBase() - span) & -Math.max(elf.maxAlign(), PAGE);
            if (start < dynBase(size)) {
                throw new ExecFormatException(String.format(
                        "program image of 0x%x bytes does not fit in the guest address space (size 0x%x)", span, size));
            }
            bias = start - elf.imageStart();
        } else if (elf.isPositionIndependent()) {
            requireAlignmentFits(elf, size, "PT_LOAD alignment");
            bias = alignUp(dynBase(size), elf.maxAlign()) - elf.imageStart();
        } else {
            bias = 0;
            for (ProgramHeader p : elf.loads()) {
                if (p.memsz() != 0 && pageDown(p.vaddr()) < as.mmapMinAddr()) {
                    throw new ExecFormatException(String.format(
                            "PT_LOAD segment %d at 0x%x is below the lowest mappable address 0x%x",
                            p.index(), p.vaddr(), as.mmapMinAddr()));
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
            requireAlignmentFits(interp, size, "ELF interpreter " + elf.interpreter() + ": PT_LOAD alignment");
            long align = interp.maxAlign();
            // Top of the area non-fixed mmaps search downwards, as Linux's first mmap would land.
            long start = (as.mmapBase() - span) & -align;
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

        // Linux sets the break at the end of the main program's bss, page-aligned, then, as it
        // randomises the layout by default, one page further ("leave a gap between .bss and brk")
        // and a random distance on; a loader's break starts at ELF_ET_DYN_BASE instead. Herd keeps
        // the gap and the loader rule, not the randomness (fuzz seed 1 case 2899: a RELRO range
        // past the image is unmapped natively, not the heap).
        long brk = loader ? dynBase(size) : imageEnd + PAGE;
        as.initBrk(brk);

        long phdrAddr = bias + elf.phdrVaddr();
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
        try (HostFile f = HostFile.open(hostPath)) {
            if (f.size() != elf.fileSize()) {
                throw new ExecFormatException("file changed size while being loaded");
            }
            // The kernel names a mapping by the file's resolved path (/bin/cat shows as /usr/bin/cat).
            String shown;
            try {
                shown = hostPath.toRealPath().toString();
            } catch (java.io.IOException e) {
                shown = hostPath.toString();
            }
            for (ProgramHeader p : elf.loads()) {
                if (p.memsz() == 0) continue;
                mapSegment(as, f, shown, p, bias);
            }
        }
    }

    private static void mapSegment(GuestAddressSpace as, HostFile f, String name, ProgramHeader p, long bias)
            throws ExecFormatException {
        long vaddr = bias + p.vaddr();
        long start = pageDown(vaddr);
        long end = pageUp(vaddr + p.memsz());
        long fileEnd = vaddr + p.filesz();           // first byte not from the file
        long filePagesEnd = p.filesz() == 0 ? start : pageUp(fileEnd);
        int prot = (p.readable() ? Prot.READ : 0) | (p.writable() ? Prot.WRITE : 0) | (p.executable() ? Prot.EXEC : 0);
        try {
            // Each mapping is charged to the commit limit as Linux charges it (CommitLimit): the
            // file pages when writable (elf_map's MAP_PRIVATE mapping is accountable then), the
            // bss pages always (vm_brk_flags, like brk). A refusal comes after the kernel's point
            // of no return, where the process dies by SIGSEGV; Herd refuses the program instead
            // (fuzz seed 1 case 7962: a 716 GiB bss ran here, and glibc failed later on).
            if (filePagesEnd > start && p.writable() && CommitLimit.refuses(filePagesEnd - start)
                    || end > filePagesEnd && CommitLimit.refuses(end - filePagesEnd)) {
                throw new ErrnoException(Errno.ENOMEM);
            }
            if (filePagesEnd > start) {
                // Private file mapping of whole pages from the page holding p_offset (the address
                // space copies the bytes in; pages past EOF read as zero). Mapped with the final
                // protection directly, so no host-side protection reduction is left pending.
                long got = as.mmap(start, filePagesEnd - start, prot, MapFlags.PRIVATE | MapFlags.FIXED,
                        f.fd(), pageDown(p.offset()), name);
                if (got != start) throw new ErrnoException(Errno.ENOMEM);
                // The bss starts inside the last file page: Linux's padzero clears the rest of it,
                // but only in a writable segment: in another its clear_user faults, and elf_load
                // ignores that, so the file's bytes stay (fuzz seed 1 case 2631: a text segment
                // one byte short of its memsz runs natively).
                if (p.memsz() > p.filesz() && filePagesEnd > fileEnd && p.writable()) {
                    as.zeroIgnoringProtection(fileEnd, filePagesEnd - fileEnd);
                }
            }
            if (end > filePagesEnd) {
                // Whole bss pages: anonymous zero memory, as Linux's vm_brk_flags gives.
                long got = as.mmap(filePagesEnd, end - filePagesEnd, prot,
                        MapFlags.PRIVATE | MapFlags.ANONYMOUS | MapFlags.FIXED, -1, 0);
                if (got != filePagesEnd) throw new ErrnoException(Errno.ENOMEM);
            }
        } catch (ErrnoException e) {
            throw new ExecFormatException(String.format("cannot map PT_LOAD segment %d at 0x%x-0x%x: %s",
                    p.index(), start, end, e.getMessage()));
        }
    }

    /** An alignment beyond the guest space cannot be honoured (Linux's mapping fails too). */
    private static void requireAlignmentFits(ElfFile elf, long size, String what) throws ExecFormatException {
        long align = elf.maxAlign();
        if (align <= 0 || align >= size) {
            throw new ExecFormatException(String.format("%s 0x%x does not fit in the guest address space (size 0x%x)",
                    what, align, size));
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

    /** Opens a PT_INTERP path for reading; see {@link #load(GuestAddressSpace, ElfFile, Path, InterpreterOpener)}. */
    @FunctionalInterface
    public interface InterpreterOpener {
        /** @throws ExecFormatException the interpreter cannot be opened (message says why) */
        Path open(String guestPath) throws ExecFormatException;
    }

    static long alignUp(long a, long align) { return (a + align - 1) & -align; }

    private static String ioMessage(IOException e) {
        String m = e.getMessage();
        if (e instanceof java.nio.file.NoSuchFileException) return "No such file or directory";
        if (e instanceof java.nio.file.AccessDeniedException) return "Permission denied";
        return m != null ? m : e.getClass().getSimpleName();
    }
}
