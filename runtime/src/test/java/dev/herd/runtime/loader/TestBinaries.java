package dev.herd.runtime.loader;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Guest programs compiled once per test JVM into a temp dir; tests skip if the compiler is missing. */
final class TestBinaries {
    private TestBinaries() {}

    static final Path BUSYBOX = Path.of("/usr/bin/busybox");

    private static final String SOURCE = """
            #include <stdio.h>
            int initialised = 42;
            char zeros[100000];
            __thread int tls_var = 7;
            int main(int argc, char **argv) {
                printf("hello %d %d %d\\n", argc, initialised + zeros[99999], tls_var);
                return 0;
            }
            """;

    private static Path dir;

    static synchronized Path dir() throws IOException {
        if (dir == null) {
            dir = Files.createTempDirectory("herd-loader-test");
            Files.writeString(dir.resolve("hello.c"), SOURCE);
            dir.toFile().deleteOnExit();
        }
        return dir;
    }

    /** -static ET_EXEC. */
    static Path staticExe() throws Exception { return build("gcc", "hello-static", "-static", "-O1"); }
    /** -static-pie ET_DYN without PT_INTERP. */
    static Path staticPie() throws Exception { return build("gcc", "hello-static-pie", "-static-pie", "-O1"); }
    /** default dynamic PIE with PT_INTERP. */
    static Path dynamicPie() throws Exception { return build("gcc", "hello-dyn", "-O1"); }
    /** -static with an executable-stack request. */
    static Path execStack() throws Exception { return build("gcc", "hello-execstack", "-static", "-z", "execstack"); }
    /** static aarch64, if the cross compiler exists. */
    static Path aarch64() throws Exception { return build("aarch64-linux-gnu-gcc", "hello-aarch64", "-static", "-O1"); }

    static Path busybox() {
        assumeTrue(Files.isRegularFile(BUSYBOX), "no /usr/bin/busybox");
        return BUSYBOX;
    }

    private static synchronized Path build(String cc, String name, String... flags) throws Exception {
        Path out = dir().resolve(name);
        if (Files.exists(out)) return out;
        assumeTrue(onPath(cc), cc + " not installed");
        List<String> cmd = new ArrayList<>(List.of(cc, "-o", out.toString(), dir().resolve("hello.c").toString()));
        cmd.addAll(List.of(flags));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assumeTrue(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0, cc + " failed: " + log);
        return out;
    }

    static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) return true;
        }
        return false;
    }

    /** Output of a command (stdout+stderr); skips the test if the tool is missing. */
    static String run(String... cmd) throws Exception {
        assumeTrue(onPath(cmd[0]), cmd[0] + " not installed");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor(60, TimeUnit.SECONDS);
        return out;
    }
}
