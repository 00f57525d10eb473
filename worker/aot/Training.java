import forkserver.posix.Posix;
import forkserver.posix.SpareProtocol;

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
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Makes the worker's AOT caches (JEP 483/514) at build time from training runs of the real
 * worker serving a real socket. For the on-demand cache bin/worker is started exactly as inetd
 * would start it, with a connected TCP socket on fd 0 (bash's /dev/tcp connects it), and this
 * program plays an echo session as the client. For the spare cache it is started as
 * {@code bin/supervisor --spares} starts a spare, with a socketpair on fd 0, and this program
 * hands it a TCP connection as the supervisor does (through forkserver.posix, hence the posix
 * jar on this program's class path). The JVM writes each cache when its worker exits.
 *
 * <p>Two caches, not one: a cache's classes are all loaded at start-up, and an on-demand worker
 * must not pay for the FFM classes only a spare uses.
 *
 * <p>Run by Maven after the worker jar is packaged ({@code java worker/aot/Training.java HOME}),
 * so the cache is rebuilt whenever the jar is. The old cache is deleted first: a training run
 * must not use the cache it replaces, and a failed run leaves no stale cache behind.
 *
 * <p>{@code java worker/aot/Training.java HOME CACHES} trains the worker of another tree, HOME,
 * with its caches in CACHES (bin/worker's FORKSERVER_AOT_DIR there): bin/package trains the
 * Debian package's tree, so that its caches are made by the package's own Java runtime.
 */
public class Training {

    static final String CACHE = "forkserver-worker.aot";
    static final String SPARE_CACHE = "forkserver-spare.aot";

    public static void main(String[] args) throws Exception {
        Path home = Path.of(args.length > 0 ? args[0] : ".").toAbsolutePath().normalize();
        Path caches = args.length > 1 ? Path.of(args[1]).toAbsolutePath() : home.resolve("worker/target");
        Files.deleteIfExists(caches.resolve(SPARE_CACHE)); // made after the on-demand one, never with a stale one
        train(home, caches, CACHE, false);
        train(home, caches, SPARE_CACHE, true);
    }

    static void train(Path home, Path caches, String cacheName, boolean spare) throws Exception {
        Path cache = caches.resolve(cacheName);
        Path fresh = caches.resolve(cacheName + ".new");
        Path log = caches.resolve(cacheName + ".log");
        Files.deleteIfExists(cache);
        Files.deleteIfExists(fresh);

        if (spare) {
            trainSpare(home, fresh, log);
        } else {
            trainOnDemand(home, fresh, log);
        }
        Files.move(fresh, cache, StandardCopyOption.ATOMIC_MOVE);
        System.out.println("AOT cache for the worker" + (spare ? " in spare mode" : "") + ": " + cache + " ("
                + Files.size(cache) / 1024 + " KiB)");
    }

    static void trainOnDemand(Path home, Path fresh, Path log) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            listener.setSoTimeout(120_000);
            ProcessBuilder worker = new ProcessBuilder("bash", "-c",
                    "exec \"$0\" 0<>/dev/tcp/127.0.0.1/" + listener.getLocalPort(), home.resolve("bin/worker").toString())
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(log.toFile()); // the JVM's notes on what it could not cache
            forkserversOwn(worker.environment());
            worker.environment().put("FORKSERVER_WORKER_JAVA_OPTS", "-XX:AOTCacheOutput=" + fresh);
            Process process = worker.start();
            try (Socket client = listener.accept()) {
                client.setSoTimeout(120_000);
                session(client);
            }
            awaitCache(process, fresh, log);
        }
    }

    /**
     * A spare's life: started with its end of a socketpair on fd 0 (dup2'd onto our own fd 0 for
     * the start, as the supervisor's Spawner does), ready byte, a TCP connection handed over with
     * SCM_RIGHTS and its variables, acknowledgement, then the same session as on demand.
     */
    static void trainSpare(Path home, Path fresh, Path log) throws Exception {
        int[] pair = Posix.socketpair(Posix.AF_UNIX, Posix.SOCK_SEQPACKET);
        int savedStdin = Posix.dupCloexec(0, 3);
        ProcessBuilder worker = new ProcessBuilder(home.resolve("bin/worker").toString())
                .redirectInput(ProcessBuilder.Redirect.INHERIT)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(log.toFile());
        forkserversOwn(worker.environment());
        worker.environment().put("FORKSERVER_SPARE", "1");
        worker.environment().put("FORKSERVER_WORKER_JAVA_OPTS", "-XX:AOTCacheOutput=" + fresh);
        Process process;
        Posix.dup2(pair[1], 0);
        try {
            process = worker.start();
        } finally {
            Posix.dup2(savedStdin, 0);
            Posix.close(savedStdin);
            Posix.close(pair[1]);
        }
        int listener = Posix.socket(Posix.AF_INET, Posix.SOCK_STREAM | Posix.SOCK_CLOEXEC, 0);
        try (Socket client = new Socket()) {
            expect(Posix.receiveByte(pair[0]), SpareProtocol.READY, log);
            Posix.bind(listener, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Posix.listen(listener, 1);
            client.connect(Posix.getsockname(listener), 120_000);
            client.setSoTimeout(120_000);
            Posix.AcceptedSocket accepted = Posix.accept(listener);
            Map<String, String> facts = Map.of("TCPREMOTEIP", "127.0.0.1",
                    "TCPREMOTEPORT", Integer.toString(client.getLocalPort()), "TCPCONNNUM", "0");
            Posix.sendFd(pair[0], accepted.fd(), SpareProtocol.encode(facts));
            expect(Posix.receiveByte(pair[0]), SpareProtocol.ACKNOWLEDGED, log);
            Posix.close(accepted.fd());
            session(client);
        } finally {
            Posix.close(listener);
            Posix.close(pair[0]);
        }
        awaitCache(process, fresh, log);
    }

    /**
     * The worker as forkserver ships it: a user's class path, options, cache or handler in the
     * environment (a build started by bin/supervisor under a handler's test inherits them) would
     * make a cache for another class path, or none (a directory on it cannot be cached).
     */
    private static void forkserversOwn(Map<String, String> environment) {
        for (String variable : List.of("FORKSERVER_WORKER_CLASSPATH", "FORKSERVER_WORKER_JAVA_OPTS",
                "FORKSERVER_WORKER_AOT_CACHE", "FORKSERVER_HANDLER", "FORKSERVER_IDLE_TIMEOUT", "JAVA_TOOL_OPTIONS")) {
            environment.remove(variable);
        }
    }

    private static void expect(int got, byte wanted, Path log) throws IOException {
        if (got != wanted) {
            throw new IllegalStateException("the training spare sent " + got + ", not '" + (char) wanted + "': "
                    + Files.readString(log));
        }
    }

    private static void awaitCache(Process process, Path fresh, Path log) throws Exception {
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("the training worker did not exit");
        }
        if (process.exitValue() != 0 || !Files.isRegularFile(fresh)) {
            throw new IllegalStateException("the training worker failed (exit " + process.exitValue() + "): "
                    + Files.readString(log));
        }
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
