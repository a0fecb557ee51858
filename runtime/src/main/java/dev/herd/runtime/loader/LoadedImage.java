package dev.herd.runtime.loader;

/**
 * What {@link ElfLoader#load} put into the guest address space: the facts the initial stack
 * (auxiliary vector) and the first guest thread need. All addresses are guest addresses, already
 * biased.
 *
 * @param machine          guest architecture of the program
 * @param loadBias         added to every p_vaddr of the program (0 for ET_EXEC)
 * @param entry            the program's own entry point (AT_ENTRY)
 * @param phdrAddr         guest address of the program's program header table (AT_PHDR); 0 if no
 *                         PT_LOAD maps it
 * @param phnum            number of program headers (AT_PHNUM)
 * @param phent            size of one program header (AT_PHENT)
 * @param imageStart       lowest page of the program's image
 * @param imageEnd         page-aligned end of the program's highest segment
 * @param brkStart         initial program break (a page past the image's end, or ELF_ET_DYN_BASE for a loader; already
 *                         passed to {@code GuestAddressSpace.initBrk})
 * @param interpreterPath  PT_INTERP string as written in the program, or null for a static program
 * @param interpreterBase  load address of the interpreter (AT_BASE), 0 without one
 * @param interpreterEntry the interpreter's entry point, 0 without one
 * @param stackExecutable  PT_GNU_STACK asked for an executable stack
 */
public record LoadedImage(ElfFile.Machine machine, long loadBias, long entry, long phdrAddr,
                          int phnum, int phent, long imageStart, long imageEnd, long brkStart,
                          String interpreterPath, long interpreterBase, long interpreterEntry,
                          boolean stackExecutable) {
    /** Where the first guest instruction runs: the interpreter's entry if there is one, else the program's. */
    public long startPc() { return interpreterPath != null ? interpreterEntry : entry; }

    public boolean isDynamic() { return interpreterPath != null; }
}
