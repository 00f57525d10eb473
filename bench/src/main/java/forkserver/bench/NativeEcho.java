package forkserver.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The native echo program of the process-native, tcpserver and systemd models: {@code echo.c}
 * compiled with {@code cc} into {@code bench/target/} when a C compiler is present (once, and again
 * when the source is newer), else the POSIX {@code sh} loop {@code echo.sh}.
 */
public final class NativeEcho {

    static final String SOURCE = "bench/src/main/c/echo.c";
    static final String SCRIPT = "bench/src/main/sh/echo.sh";
    static final String BINARY = "bench/target/bench-echo";

    private NativeEcho() {
    }

    /** The command line that runs the echo program; {@code note} says which one and why. */
    public record Program(List<String> command, String note) {
    }

    public static Program prepare(Path home) {
        Path source = home.resolve(SOURCE);
        Path binary = home.resolve(BINARY);
        String shell = "/bin/sh " + SCRIPT;
        Program fallback = new Program(List.of("/bin/sh", home.resolve(SCRIPT).toString()), shell);
        try {
            if (Files.isExecutable(binary) && Files.getLastModifiedTime(binary).compareTo(Files.getLastModifiedTime(source)) >= 0) {
                return new Program(List.of(binary.toString()), BINARY + " (C)");
            }
            Files.createDirectories(binary.getParent());
            Process cc = new ProcessBuilder("cc", "-O2", "-o", binary.toString(), source.toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (cc.waitFor(60, TimeUnit.SECONDS) && cc.exitValue() == 0) {
                return new Program(List.of(binary.toString()), BINARY + " (C, compiled with cc)");
            }
            cc.destroyForcibly();
            return new Program(fallback.command(), shell + " (cc failed)");
        } catch (IOException e) {
            return new Program(fallback.command(), shell + " (no C compiler)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fallback;
        }
    }
}
