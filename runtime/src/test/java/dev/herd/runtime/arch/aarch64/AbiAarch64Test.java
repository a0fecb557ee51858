package dev.herd.runtime.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.herd.runtime.arch.GuestAbi;
import dev.herd.runtime.arch.x86_64.AbiX86_64;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The arm64 conversions against the kernel's own headers: one probe program prints the uapi
 * layouts (struct stat, struct epoll_event, the O_* values) and is compiled twice, for the x86_64
 * host (run natively) and for arm64 (run under qemu-aarch64-static). A host struct stat built with
 * a distinct value in every field at the host's offsets must come out with each value at arm64's
 * offset; open flags must map bit for bit.
 */
class AbiAarch64Test {
    private static final String PROBE = """
            #include <asm/stat.h>
            #include <asm/fcntl.h>
            #include <linux/eventpoll.h>
            #include <linux/sem.h>
            #include <stddef.h>
            #include <stdio.h>
            #define F(f) printf(#f " %zu %zu\\n", offsetof(struct stat, f), sizeof(((struct stat *)0)->f));
            int main(void) {
                printf("size %zu 0\\n", sizeof(struct stat));
                F(st_dev) F(st_ino) F(st_mode) F(st_nlink) F(st_uid) F(st_gid) F(st_rdev) F(st_size)
                F(st_blksize) F(st_blocks) F(st_atime) F(st_atime_nsec) F(st_mtime) F(st_mtime_nsec)
                F(st_ctime) F(st_ctime_nsec)
                printf("O_DIRECTORY %d 0\\nO_NOFOLLOW %d 0\\nO_DIRECT %d 0\\nO_LARGEFILE %d 0\\n",
                       O_DIRECTORY, O_NOFOLLOW, O_DIRECT, O_LARGEFILE);
                printf("O_CLOEXEC %d 0\\nO_NONBLOCK %d 0\\nO_APPEND %d 0\\nO_PATH %d 0\\nO_TMPFILE %d 0\\n",
                       O_CLOEXEC, O_NONBLOCK, O_APPEND, O_PATH, O_TMPFILE);
                printf("epoll_size %zu 0\\nepoll_data %zu 0\\n", sizeof(struct epoll_event), offsetof(struct epoll_event, data));
                printf("semid_size %zu 0\\nsem_otime %zu 0\\nsem_ctime %zu 0\\nsem_nsems %zu 0\\n", sizeof(struct semid64_ds),
                       offsetof(struct semid64_ds, sem_otime), offsetof(struct semid64_ds, sem_ctime), offsetof(struct semid64_ds, sem_nsems));
                return 0;
            }
            """;
    private static final List<String> STAT_FIELDS = List.of("st_dev", "st_ino", "st_mode", "st_nlink", "st_uid", "st_gid",
            "st_rdev", "st_size", "st_blksize", "st_blocks", "st_atime", "st_atime_nsec", "st_mtime", "st_mtime_nsec",
            "st_ctime", "st_ctime_nsec");

    private static Map<String, long[]> host, guest;

    @BeforeAll
    static void probe() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/aarch64-linux-gnu-gcc")), "gcc-aarch64-linux-gnu not installed");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-aarch64-static")), "qemu-user-static not installed");
        Path dir = Files.createTempDirectory("herd-abi-probe");
        Path src = dir.resolve("probe.c");
        Files.writeString(src, PROBE);
        run("gcc", "-o", dir.resolve("probe-x86_64").toString(), src.toString());
        run("aarch64-linux-gnu-gcc", "-static", "-o", dir.resolve("probe-aarch64").toString(), src.toString());
        host = parse(run(dir.resolve("probe-x86_64").toString()));
        guest = parse(run("/usr/bin/qemu-aarch64-static", dir.resolve("probe-aarch64").toString()));
    }

    @Test
    void statLayoutsAreTheHeaders() {
        assertEquals(GuestAbi.HOST_STAT_SIZE, host.get("size")[0]);
        assertEquals(AbiAarch64.INSTANCE.statSize(), guest.get("size")[0]);
        assertEquals(AbiX86_64.INSTANCE.statSize(), host.get("size")[0]);
    }

    @Test
    void everyStatFieldLandsAtTheGuestOffset() {
        ByteBuffer h = ByteBuffer.allocate(GuestAbi.HOST_STAT_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        long value = 0x0101010101010101L;
        Map<String, Long> put = new HashMap<>();
        for (String f : STAT_FIELDS) {
            long[] at = host.get(f);
            long v = value * (put.size() + 1) & (at[1] == 8 ? -1L : 0x7fffffffL);
            if (at[1] == 8) h.putLong((int) at[0], v); else h.putInt((int) at[0], (int) v);
            put.put(f, v);
        }
        ByteBuffer g = ByteBuffer.wrap(AbiAarch64.INSTANCE.statFromHost(h.array())).order(ByteOrder.LITTLE_ENDIAN);
        for (String f : STAT_FIELDS) {
            long[] at = guest.get(f);
            long got = at[1] == 8 ? g.getLong((int) at[0]) : g.getInt((int) at[0]) & 0xffffffffL;
            long want = at[1] == 8 ? put.get(f) : put.get(f) & 0xffffffffL;
            assertEquals(want, got, f);
        }
    }

    @Test
    void openFlagsMapBitForBit() {
        for (String f : List.of("O_DIRECTORY", "O_NOFOLLOW", "O_DIRECT", "O_LARGEFILE", "O_CLOEXEC", "O_NONBLOCK", "O_APPEND",
                "O_PATH", "O_TMPFILE")) {
            int g = (int) guest.get(f)[0], h = (int) host.get(f)[0];
            assertEquals(h, AbiAarch64.INSTANCE.openFlagsToHost(g), f + " to host");
            assertEquals(g, AbiAarch64.INSTANCE.openFlagsToGuest(h), f + " to guest");
        }
    }

    @Test
    void epollEventLayouts() {
        assertEquals(host.get("epoll_data")[0], AbiX86_64.INSTANCE.epollDataOffset());
        assertEquals(host.get("epoll_size")[0], AbiX86_64.INSTANCE.epollEventSize());
        assertEquals(guest.get("epoll_data")[0], AbiAarch64.INSTANCE.epollDataOffset());
        assertEquals(guest.get("epoll_size")[0], AbiAarch64.INSTANCE.epollEventSize());
    }

    @Test
    void semidLayoutsAndConversion() {
        assertEquals(GuestAbi.HOST_SEMID_DS_SIZE, host.get("semid_size")[0]);
        assertEquals(AbiAarch64.INSTANCE.semidSize(), guest.get("semid_size")[0]);
        ByteBuffer h = ByteBuffer.allocate(GuestAbi.HOST_SEMID_DS_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 48; i++) h.put(i, (byte) (i + 1)); // ipc64_perm: same on both
        h.putLong((int) host.get("sem_otime")[0], 111).putLong((int) host.get("sem_ctime")[0], 222)
                .putLong((int) host.get("sem_nsems")[0], 3);
        ByteBuffer g = ByteBuffer.wrap(AbiAarch64.INSTANCE.semidFromHost(h.array())).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 48; i++) assertEquals(i + 1, g.get(i), "perm byte " + i);
        assertEquals(111, g.getLong((int) guest.get("sem_otime")[0]));
        assertEquals(222, g.getLong((int) guest.get("sem_ctime")[0]));
        assertEquals(3, g.getLong((int) guest.get("sem_nsems")[0]));
    }

    @Test
    void cloneTakesTlsFourth() {
        GuestAbi.CloneArgs a = AbiAarch64.INSTANCE.cloneArgs(1, 2, 3, 4, 5);
        assertEquals(new GuestAbi.CloneArgs(1, 2, 3, 5, 4), a);
    }

    private static Map<String, long[]> parse(String out) {
        Map<String, long[]> m = new HashMap<>();
        for (String line : out.split("\n")) {
            String[] w = line.trim().split(" ");
            if (w.length == 3) m.put(w[0], new long[]{Long.parseLong(w[1]), Long.parseLong(w[2])});
        }
        return m;
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) throw new AssertionError(String.join(" ", cmd) + ":\n" + out);
        return out;
    }
}
