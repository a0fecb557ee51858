import dev.herd.Herd;
import dev.herd.Intercept;

/**
 * Rewrites a syscall's result: after every successful uname(2), the guest finds NAME in
 * utsname.nodename (so {@code hostname}, {@code uname -n} and gethostname() report it).
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp "$(bin/herd classpath):/tmp/ex" FakeHostname NAME PROGRAM [ARGS...]
 * </pre>
 */
public final class FakeHostname {
    /** struct utsname: six fields of 65 bytes; nodename is the second. */
    private static final int FIELD = 65, NODENAME = FIELD;

    private FakeHostname() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2 || args[0].length() >= FIELD) {
            System.err.println("usage: FakeHostname NAME(<65 bytes) PROGRAM [ARGS...]");
            System.exit(2);
        }
        String name = args[0];
        String[] guestArgs = java.util.Arrays.copyOfRange(args, 2, args.length);
        try (Herd herd = Herd.builder().program(args[1], guestArgs).build()) {
            herd.setSyscall("uname", Intercept.EXIT, ev -> {
                if (ev.returnValue() != 0) return; // the guest passed a bad pointer: leave the error
                byte[] field = new byte[FIELD];
                byte[] utf8 = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                System.arraycopy(utf8, 0, field, 0, utf8.length);
                ev.memory().write(ev.arg(0) + NODENAME, field);
            });
            System.exit(herd.run());
        }
    }
}
