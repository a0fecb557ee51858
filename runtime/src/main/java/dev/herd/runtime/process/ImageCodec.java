package dev.herd.runtime.process;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The length-prefixed fields that {@link ForkImage} and {@link SpawnImage} are made of. A parent
 * Herd writes them and a child Herd reads them, so a reader checks every length against a bound
 * and fails with "corrupt image" rather than allocating what a broken file says.
 */
final class ImageCodec {
    private static final int MAX_COUNT = 1 << 24, MAX_BYTES = 1 << 26;

    private ImageCodec() {}

    /** A count of items that follow (at most 2^24). */
    static int count(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_COUNT) throw new IOException("corrupt image: a count of " + n);
        return n;
    }

    /** Bytes, or null. */
    static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        if (b == null) {
            out.writeInt(-1);
            return;
        }
        out.writeInt(b.length);
        out.write(b);
    }

    /** What {@link #writeBytes} wrote (null for null). */
    static byte[] readBytes(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n == -1) return null;
        if (n < 0 || n > MAX_BYTES) throw new IOException("corrupt image: " + n + " bytes");
        byte[] b = in.readNBytes(n);
        if (b.length != n) throw new IOException("corrupt image: short");
        return b;
    }

    /** Bytes that must be there. */
    static byte[] readPresentBytes(DataInputStream in) throws IOException {
        byte[] b = readBytes(in);
        if (b == null) throw new IOException("corrupt image: a missing field");
        return b;
    }

    static void writeString(DataOutputStream out, String s) throws IOException {
        writeBytes(out, s == null ? null : s.getBytes(StandardCharsets.UTF_8));
    }

    static String readString(DataInputStream in) throws IOException {
        byte[] b = readBytes(in);
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    /** A list of byte strings (argv, envp), none null. */
    static void writeList(DataOutputStream out, List<byte[]> list) throws IOException {
        out.writeInt(list.size());
        for (byte[] b : list) writeBytes(out, b);
    }

    static List<byte[]> readList(DataInputStream in) throws IOException {
        List<byte[]> list = new ArrayList<>();
        for (int n = count(in); n > 0; n--) list.add(readPresentBytes(in));
        return list;
    }
}
