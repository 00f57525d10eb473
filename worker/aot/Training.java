import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Makes the worker's AOT cache (JEP 483/514) at build time from a training run of the real
 * worker serving a real socket: bin/worker is started exactly as inetd would start it, with a
 * connected TCP socket on fd 0 (bash's /dev/tcp connects it), and this program plays an echo
 * session as the client. The JVM writes the cache when the worker exits.
 *
 * <p>Run by Maven after the worker jar is packaged ({@code java worker/aot/Training.java HOME}),
 * so the cache is rebuilt whenever the jar is. The old cache is deleted first: a training run
 * must not use the cache it replaces, and a failed run leaves no stale cache behind.
 */
public class Training {

    static final String CACHE = "worker/target/forkserver-worker.aot";

    public static void main(String[] args) throws Exception {
        Path home = Path.of(args.length > 0 ? args[0] : ".").toAbsolutePath().normalize();
        Path cache = home.resolve(CACHE);
        Path fresh = home.resolve(CACHE + ".new");
        Path log = home.resolve(CACHE + ".log");
        Files.deleteIfExists(cache);
        Files.deleteIfExists(fresh);

        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            listener.setSoTimeout(120_000);
            ProcessBuilder worker = new ProcessBuilder("bash", "-c",
                    "exec \"$0\" 0<>/dev/tcp/127.0.0.1/" + listener.getLocalPort(), home.resolve("bin/worker").toString())
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(log.toFile()); // the JVM's notes on what it could not cache
            worker.environment().put("FORKSERVER_WORKER_JAVA_OPTS", "-XX:AOTCacheOutput=" + fresh);
            Process process = worker.start();
            try (Socket client = listener.accept()) {
                client.setSoTimeout(120_000);
                session(client);
            }
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("the training worker did not exit");
            }
            if (process.exitValue() != 0 || !Files.isRegularFile(fresh)) {
                throw new IllegalStateException("the training worker failed (exit " + process.exitValue() + "): "
                        + Files.readString(log));
            }
        }
        Files.move(fresh, cache, StandardCopyOption.ATOMIC_MOVE);
        System.out.println("AOT cache for the worker: " + cache + " (" + Files.size(cache) / 1024 + " KiB)");
    }

    /** The conversation every connection has: lines, a line longer than one buffer, done. */
    static void session(Socket client) throws IOException {
        OutputStream out = client.getOutputStream();
        InputStream in = client.getInputStream();
        for (String line : new String[] {"hello\n", "  second line\r\n", "\n", "x".repeat(100_000) + "\n"}) {
            exchange(out, in, line, line);
        }
        exchange(out, in, "done\n", "bye!\n");
        if (in.read() != -1) {
            throw new IllegalStateException("the worker did not close after bye!");
        }
    }

    private static void exchange(OutputStream out, InputStream in, String send, String expected) throws IOException {
        out.write(send.getBytes(StandardCharsets.UTF_8));
        out.flush();
        byte[] want = expected.getBytes(StandardCharsets.UTF_8);
        byte[] got = in.readNBytes(want.length);
        if (!Arrays.equals(want, got)) {
            throw new IllegalStateException("training session: expected " + abbreviate(expected) + ", got "
                    + abbreviate(new String(got, StandardCharsets.UTF_8)));
        }
    }

    private static String abbreviate(String text) {
        return text.length() > 40 ? text.substring(0, 40) + "...(" + text.length() + " chars)" : text;
    }
}
