package dev.herd.bench;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Prot;
import dev.herd.threads.atomics.AtomicSitesX86_64;
import dev.herd.unicorn.UcProt;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.x86_64.X86Reg;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Guest atomics, one engine, uncontended, per {@code lock add qword ptr [rdi], 1}: the rig of
 * threads' {@code AtomicConcurrencyTest} (a real {@link GuestAddressSpace}, an engine mapping it with
 * {@code memMapPtr}, {@link AtomicSitesX86_64} scanning the code), built from public API only.
 *
 * <ul>
 * <li>{@code trapLoop}: the site patched to {@code syscall}+NOPs; the syscall hook runs
 *     {@code AtomicSitesX86_64.execute} (read RIP, batch-read the operands, host CAS): the atomic
 *     trap, upcall included, per iteration.</li>
 * <li>{@code trapExecuteOnly}: {@code execute(engine, pc)} called from Java on a stopped engine
 *     (the Java handler without the upcall).</li>
 * <li>{@code translatorAtomicsLoop}: the unpatched instruction with translator atomics
 *     ({@code Unicorn.enableTranslatorAtomics}, DESIGN fact 13; Herd's default when the self-test
 *     passes); fails if the loaded libunicorn is not the build Herd knows.</li>
 * <li>{@code directAtomicsLoop}: the same as Herd's engines run it by default: guarded by the
 *     fast-store ranges, and done directly on host memory ({@code Unicorn.directAtomics}).</li>
 * <li>{@code plainAddLoop}: {@code add qword ptr [rdi], 1} without lock (stock slow-path store).</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class AtomicBench {
    static final int N = 100_000;
    static final long COUNTER = Code.DATA + 0x1000;

    GuestAddressSpace as;
    AtomicSitesX86_64 sites;
    Unicorn trapEngine, translatorEngine, directEngine;
    long sitePc;

    @Setup(Level.Trial)
    public void setUp() {
        as = GuestAddressSpace.create(1L << 32);
        int fl = MapFlags.PRIVATE | MapFlags.ANONYMOUS | MapFlags.FIXED;
        as.mmap(Code.CODE, Code.CODE_SIZE, Prot.READ | Prot.EXEC, fl, -1, 0);
        as.mmap(Code.DATA, Code.DATA_SIZE, Prot.READ | Prot.WRITE, fl, -1, 0);
        byte[] image = Code.image();
        as.writeIgnoringProtection(Code.CODE, image, 0, image.length);
        sites = new AtomicSitesX86_64(as);
        sites.scan(Code.LOCK_ADD_PATCHED.address(), Code.LOCK_ADD_PATCHED.end()); // only this routine
        if (sites.siteCount() != 1) throw new IllegalStateException("expected 1 patched site, got " + sites.siteCount());
        sitePc = Code.LOCK_ADD_PATCHED.address();

        trapEngine = sharedEngine();
        trapEngine.hookSyscall(e -> {
            if (!sites.execute(e, e.regRead(X86Reg.RIP))) e.emuStop();
        });
        trapEngine.regWrite(X86Reg.RDI, COUNTER);

        translatorEngine = sharedEngine();
        translatorEngine.enableExactStops();
        if (!translatorEngine.enableTranslatorAtomics()) {
            System.err.println("AtomicBench: translator atomics unavailable with this libunicorn (translatorAtomicsLoop measures stock code)");
        }
        translatorEngine.regWrite(X86Reg.RDI, COUNTER);

        directEngine = sharedEngine();
        directEngine.enableExactStops();
        if (!directEngine.enableFastStores() || !directEngine.enableTranslatorAtomics() || !directEngine.guardTranslatorAtomics()
                || !directEngine.directAtomics(as.hostBase())) {
            System.err.println("AtomicBench: direct atomics unavailable with this libunicorn (directAtomicsLoop measures less)");
        }
        directEngine.setFastStoreRanges(new long[] {Code.DATA, Code.DATA + Code.DATA_SIZE}, 1);
        directEngine.regWrite(X86Reg.RDI, COUNTER);
    }

    private Unicorn sharedEngine() {
        Unicorn u = Unicorn.openX86_64();
        long hb = as.hostBase();
        u.memMapPtr(Code.CODE, Code.CODE_SIZE, UcProt.READ | UcProt.EXEC, hb + Code.CODE);
        u.memMapPtr(Code.DATA, Code.DATA_SIZE, UcProt.READ | UcProt.WRITE, hb + Code.DATA);
        return u;
    }

    @TearDown(Level.Trial)
    public void close() {
        trapEngine.close();
        translatorEngine.close();
        directEngine.close();
        as.close();
    }

    private static void run(Unicorn u, Code.Routine r) {
        u.regWrite(X86Reg.RBX, N);
        u.emuStart(r.address(), r.end(), 0, 0);
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public void trapLoop() { run(trapEngine, Code.LOCK_ADD_PATCHED); }

    @Benchmark
    public boolean trapExecuteOnly() { return sites.execute(trapEngine, sitePc); }

    @Benchmark
    @OperationsPerInvocation(N)
    public void translatorAtomicsLoop() { run(translatorEngine, Code.LOCK_ADD); }

    @Benchmark
    @OperationsPerInvocation(N)
    public void directAtomicsLoop() { run(directEngine, Code.LOCK_ADD); }

    @Benchmark
    @OperationsPerInvocation(N)
    public void plainAddLoop() { run(trapEngine, Code.PLAIN_ADD); }
}
