package dev.herd.proxy;

import dev.herd.host.HostMm;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

/**
 * The shared-memory file between Herd and its kernel proxy (one memfd, mapped by both): a header,
 * a control ring and the request cells. {@code proxy/src/main/c/herd_proxy.c} reads the same
 * layout; every offset it needs is in the header, so the two cannot disagree.
 *
 * <ul>
 * <li><b>Header</b> (page 0): magic, the proxy's status (a futex word: starting, ready, failed, with
 *     a one-line reason), its pid, the geometry below, Agrona's trailer offsets, the control ring's
 *     doorbell futex word and the consumer's sleeping flag.</li>
 * <li><b>Control ring</b>: Agrona's {@link ManyToOneRingBuffer} (many Herd threads write
 *     concurrently with Agrona; the proxy's control thread reads it in C). Messages: attach a cell
 *     to a new shadow thread, shut down. A writer rings the doorbell only when the reader said it
 *     sleeps (a store-fence-load pair on each side, so no wake-up is lost).</li>
 * <li><b>Cells</b>: one per Herd thread that forwards calls. A cell is a one-slot request/reply ring
 *     between that thread and its own shadow thread in the proxy; see {@link ProxyHost}.</li>
 * </ul>
 */
final class ProxyChannel implements AutoCloseable {
    static final long MAGIC = 0x3158525044524548L; // "HERDPRX1"
    static final int H_MAGIC = 0, H_STATUS = 8, H_PID = 12, H_CELLS = 16, H_CELL_SIZE = 20, H_RING_CAPACITY = 24,
            H_RING_OFFSET = 28, H_CELLS_OFFSET = 32, H_TAIL_OFFSET = 36, H_HEAD_OFFSET = 40, H_DOORBELL = 44,
            H_SLEEPING = 48, H_SIGNAL = 52, H_ERROR = 64, H_ERROR_LEN = 256;
    static final int STATUS_STARTING = 0, STATUS_READY = 1, STATUS_FAILED = 2;

    static final int C_STATE = 0, C_R_SLEEPING = 4, C_S_SLEEPING = 8, C_CANCEL = 12, C_TID = 16, C_NR = 24,
            C_ARGS = 32, C_RESULT = 80;
    static final int CELL_IDLE = 0, CELL_REQUEST = 1, CELL_DONE = 2, CELL_EXIT = 3, CELL_GONE = 4;
    static final int CELL_SIZE = 128;
    /** Request number of an fd import (not a host syscall): the proxy receives an fd over the socket. */
    static final long NR_IMPORT_FD = -2;

    static final int MSG_ATTACH = 1, MSG_SHUTDOWN = 2;

    private static final int PAGE = 4096;
    static final int RING_CAPACITY = 64 * 1024;

    final int cells;
    final int memfd;
    final long address;
    final long size;
    final int cellsOffset;
    /** The whole file, for volatile and CAS access to header and cell words. */
    final UnsafeBuffer buffer;
    final ManyToOneRingBuffer ring;

    ProxyChannel(int cells, int interruptSignal) {
        this.cells = cells;
        int ringOffset = PAGE;
        int ringBytes = RING_CAPACITY + RingBufferDescriptor.TRAILER_LENGTH;
        this.cellsOffset = roundUp(ringOffset + ringBytes);
        this.size = roundUp(cellsOffset + (long) cells * CELL_SIZE);
        this.memfd = HostMm.memfdCreate("herd-proxy-channel", HostMm.MFD_CLOEXEC);
        try {
            HostMm.ftruncate(memfd, size);
            this.address = HostMm.mmap(0, size, HostMm.PROT_READ | HostMm.PROT_WRITE, HostMm.MAP_SHARED, memfd, 0);
        } catch (RuntimeException e) {
            HostMm.close(memfd);
            throw e;
        }
        this.buffer = new UnsafeBuffer(address, (int) size);
        buffer.putInt(H_CELLS, cells);
        buffer.putInt(H_CELL_SIZE, CELL_SIZE);
        buffer.putInt(H_RING_CAPACITY, RING_CAPACITY);
        buffer.putInt(H_RING_OFFSET, ringOffset);
        buffer.putInt(H_CELLS_OFFSET, cellsOffset);
        buffer.putInt(H_TAIL_OFFSET, RingBufferDescriptor.TAIL_POSITION_OFFSET);
        buffer.putInt(H_HEAD_OFFSET, RingBufferDescriptor.HEAD_POSITION_OFFSET);
        buffer.putInt(H_SIGNAL, interruptSignal);
        buffer.putLongVolatile(H_MAGIC, MAGIC);
        this.ring = new ManyToOneRingBuffer(new UnsafeBuffer(address + ringOffset, ringBytes));
    }

    private static int roundUp(long n) {
        return (int) ((n + PAGE - 1) & -PAGE);
    }

    /** Offset of cell {@code i} in the file. */
    int cell(int i) {
        return cellsOffset + i * CELL_SIZE;
    }

    long hostAddress(int offset) {
        return address + offset;
    }

    /** The failure line the proxy left in the header. */
    String error() {
        byte[] b = new byte[H_ERROR_LEN];
        buffer.getBytes(H_ERROR, b);
        int n = 0;
        while (n < b.length && b[n] != 0) n++;
        return new String(b, 0, n, java.nio.charset.StandardCharsets.UTF_8);
    }

    private boolean fdClosed;

    /** Closes the file's fd once the proxy has been given its copy (the mapping stays). */
    synchronized void closeFd() {
        if (!fdClosed) HostMm.close(memfd);
        fdClosed = true;
    }

    @Override
    public void close() {
        HostMm.munmap(address, size);
        closeFd();
    }
}
