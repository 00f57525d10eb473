import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Makes the installed tree's AOT cache for the supervisor itself (JEP 483/514), at package build,
 * from a training run of that tree's own bin/supervisor on its own runtime: the paths every
 * connection takes (accept, admission, a hand-off to a spare, a spawn on demand, the log), the
 * status line and the drain on SIGTERM. The JVM writes the cache when the supervisor exits.
 *
 * <p>Why the package has one and a checkout does not: on a jlink'ed runtime the supervisor's
 * hand-off to a spare measured about 1 ms slower than on the full JDK (README, "The installed
 * package beside the checkout"), and the full JDK's own CDS archive was part of the difference.
 *
 * <p>{@code java packaging/SupervisorTraining.java HOME CACHE} (bin/package runs it).
 */
public class SupervisorTraining {

    private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");
    private static final long TIMEOUT_SECONDS = 120;
    private static final int ROUNDS = 10;

    public static void main(String[] args) throws Exception {
        Path home = Path.of(args[0]).toAbsolutePath();
        Path cache = Path.of(args[1]).toAbsolutePath();
        Files.deleteIfExists(cache); // never trained with the cache it replaces
        ProcessBuilder builder = new ProcessBuilder(home.resolve("bin/supervisor").toString(), "-l", "127.0.0.1:0",
                "--spares", "1", "--shutdown-grace", "10s")
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        builder.environment().put("FORKSERVER_JAVA_OPTS", "-XX:AOTCacheOutput=" + cache);
        Process supervisor = builder.start();
        BlockingQueue<String> log = new LinkedBlockingQueue<>();
        Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(supervisor.getErrorStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = lines.readLine()) != null; ) {
                    log.add(line);
                }
            } catch (IOException e) {
                // the supervisor is gone
            }
        });
        try {
            InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(),
                    Integer.parseInt(await(log, LISTENING).group(1)));
            // Rounds rather than one of each: the cache also keeps the methods' profiles (JEP 515),
            // so that the JIT compiles the hand-off early in a real run.
            for (int round = 0; round < ROUNDS; round++) {
                await(log, Pattern.compile("spare-ready "));
                session(address); // handed to the spare
                session(address); // spawned: the replacement spare waits for a pause
            }
            signal(supervisor, "USR1");
            await(log, Pattern.compile("status "));
            await(log, Pattern.compile("spare-ready ")); // no spare half started when it stops
            // SIGTERM: the drain, then System.exit writes the cache. With kill(1), not
            // Process.destroy(), which also closes our end of its stderr: the JVM's child that
            // assembles the cache would die of SIGPIPE writing there. (The exit status says
            // whether the idle spare had to be killed: not this program's business.)
            signal(supervisor, "TERM");
            if (!supervisor.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS) || !Files.isRegularFile(cache)) {
                throw new IllegalStateException("the training supervisor did not exit with " + cache + " written;"
                        + " its last lines: " + log);
            }
        } finally {
            supervisor.destroyForcibly();
        }
        System.out.println("AOT cache for the supervisor: " + cache + " (" + Files.size(cache) / 1024 + " KiB)");
    }

    /** The next log line matching {@code pattern}, within the timeout. */
    private static Matcher await(BlockingQueue<String> log, Pattern pattern) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        while (System.nanoTime() < deadline) {
            String line = log.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            Matcher m = line == null ? null : pattern.matcher(line);
            if (m != null && m.find()) {
                return m;
            }
        }
        throw new IllegalStateException("the training supervisor logged no line matching " + pattern);
    }

    private static void session(InetSocketAddress address) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(address, 10_000);
            socket.setSoTimeout(60_000);
            OutputStream out = socket.getOutputStream();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            out.write("hello\ndone\n".getBytes(StandardCharsets.UTF_8));
            if (!"hello".equals(in.readLine()) || !"bye!".equals(in.readLine()) || in.readLine() != null) {
                throw new IllegalStateException("training session: not an echo");
            }
        }
    }

    private static void signal(Process process, String signal) throws IOException, InterruptedException {
        if (new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start().waitFor() != 0) {
            throw new IllegalStateException("kill -" + signal + " failed");
        }
    }
}
