package forkserver.supervisor;

import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Several listeners on one supervisor: IPv4, IPv6 and a UNIX-domain socket under one
 * {@code -c}; a UNIX client's credentials in its child and in the rules; the socket file's mode,
 * owner, removal at stop, and what becomes of a file already at its path.
 */
class ListenersIT {

    private static final Pattern LISTENING = Pattern.compile("forkserver: listening on (\\S+) \\((\\w+)\\)");
    /** A child that says what it knows of its client (and the words of {@link #supervisor}'s {@code more}), then echoes. */
    private static final String TELLING_CAT = "echo \"$PROTO $FORKSERVER_LISTENER"
            + " ${TCPREMOTEIP:-$IPCREMOTEEUID:$IPCREMOTEEGID:$IPCREMOTEPID:$IPCLOCALPATH}%s\"; exec cat";
    /** Debian's nobody and nogroup: a client that is not root. */
    private static final int NOBODY = 65534;

    @TempDir
    Path dir;

    @Test
    void ipv4Ipv6AndUnixShareOneMaxChildren() {
        Path socket = dir.resolve("s.sock");
        try (ServerProcess supervisor = supervisor(List.of("-l", "127.0.0.1:0", "-l", "[::1]:0,name=v6",
                "-l", "unix:" + socket + ",name=local", "-c", "2", "--over-limit", "reject"))) {
            Map<String, String> listening = listening(supervisor, 3);
            InetSocketAddress v4 = tcp(listening, "127.0.0.1");
            InetSocketAddress v6 = tcp(listening, "[::1]");
            assertTrue(listening.containsKey("unix:" + socket), listening.toString());
            supervisor.awaitMatch(Pattern.compile("listening on \\[::1]:\\d+ \\(bound\\) name=v6 max-children=2"));

            try (EchoClient first = EchoClient.connect(v4);
                 UnixClient local = UnixClient.connect(socket)) {
                assertEquals("TCP " + format(v4) + " 127.0.0.1", first.readLine());
                assertEquals("IPC local 0:0:" + ProcessHandle.current().pid() + ":" + socket, local.readLine());
                try (EchoClient third = EchoClient.connect(v6)) {
                    assertEquals("refused: max-children", third.readLine(), "one -c for every listener");
                    supervisor.awaitMatch(Pattern.compile("reject remote=\\[::1]:\\d+ local=\\[::1]:" + v6.getPort()
                            + " reason=max-children children=2/2"));
                }
                assertEquals("over unix", local.roundTrip("over unix"));
            }
            supervisor.awaitMatch(Pattern.compile("end pid=\\d+ status=0 .*remote=uid:0,gid:0,pid:"
                    + ProcessHandle.current().pid() + " local=unix:" + Pattern.quote(socket.toString())));
            supervisor.awaitMatches(Pattern.compile("end pid=\\d+ status=0 "), 2);
            try (EchoClient second = EchoClient.connect(v6)) {
                assertEquals("TCP v6 ::1", second.readLine(), "served once the others ended");
            }
        }
    }

    @Test
    void forkserversWorkerServesAUnixClient() {
        Path socket = dir.resolve("w.sock");
        try (ServerProcess supervisor = ServerProcess.supervisor("-l", "unix:" + socket);
             UnixClient client = awaitUnix(supervisor, socket)) {
            assertEquals("hello", client.roundTrip("hello"));
            assertEquals("bye!", client.roundTrip("done"));
            supervisor.awaitMatch(Pattern.compile("end pid=\\d+ status=0 "));
            assertEquals(List.of(), supervisor.stderr().stream().filter(line -> line.contains(" stderr pid=")).toList(),
                    "the worker has nothing to say about a UNIX connection (no TCP keepalive to turn on)");
        }
    }

    @Test
    void aSpareTakesAUnixConnection() {
        Path socket = dir.resolve("spare.sock");
        try (ServerProcess supervisor = ServerProcess.supervisor("-l", "unix:" + socket, "--spares", "1")) {
            supervisor.awaitMatch(Pattern.compile("spare-ready pid=\\d+"));
            try (UnixClient client = awaitUnix(supervisor, socket)) {
                assertEquals("hello", client.roundTrip("hello"));
                supervisor.awaitMatch(Pattern.compile("start pid=\\d+ remote=uid:0,gid:0,pid:\\d+ local=unix:"
                        + Pattern.quote(socket.toString()) + " children=1/40 via=spare"));
                assertEquals("bye!", client.roundTrip("done"));
            }
        }
    }

    @Test
    void anAbstractSocketHasNoFile() throws Exception {
        String name = "@forkserver-test-" + ProcessHandle.current().pid();
        try (ServerProcess supervisor = supervisor(List.of("-l", "unix:" + name))) {
            listening(supervisor, 1);
            String client = "import socket, sys\n"
                    + "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
                    + "s.settimeout(30)\n"
                    + "s.connect('\\0' + sys.argv[1][1:])\n"
                    + "print(s.makefile().readline().strip())\n";
            Process process = new ProcessBuilder("/usr/bin/python3", "-c", client, name).redirectErrorStream(true).start();
            try {
                assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the client finished");
                String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                assertTrue(output.startsWith("IPC unix:" + name + " 0:0:") && output.endsWith(":" + name), output);
            } finally {
                process.destroyForcibly();
            }
        }
    }

    @Test
    void aClientsCredentialsReachItsChildAndRulesGoByThem() throws Exception {
        openToAll(dir);
        Path socket = dir.resolve("c.sock");
        try (ServerProcess supervisor = supervisor(List.of("-l", "unix:" + socket + ",mode=0666", "--deny", "uid:0",
                "--allow", "uid:" + NOBODY, "ZONE=nobody"), "$ZONE $IPCCONNNUM")) {
            listening(supervisor, 1);
            // A client as another user: the ids are the kernel's, whatever the client says.
            List<String> answer = asNobody(socket);
            String clientPid = answer.get(0);
            assertEquals("IPC unix:" + socket + " " + NOBODY + ":" + NOBODY + ":" + clientPid + ":" + socket + " nobody 0",
                    answer.get(1));
            supervisor.awaitMatch(Pattern.compile("start pid=\\d+ remote=uid:" + NOBODY + ",gid:" + NOBODY + ",pid:"
                    + clientPid + " local=unix:"));

            try (UnixClient root = UnixClient.connect(socket)) {
                assertTrue(root.atEndOfStream(), "uid 0 is denied");
            }
            supervisor.awaitMatch(Pattern.compile("reject remote=uid:0,gid:0,pid:\\d+ local=unix:\\S+ reason=denied"));
        }
    }

    @Test
    void maxPerSourceCountsAUnixClientsUser() {
        Path socket = dir.resolve("m.sock");
        try (ServerProcess supervisor = supervisor(List.of("-l", "unix:" + socket, "-C", "1"))) {
            listening(supervisor, 1);
            try (UnixClient first = UnixClient.connect(socket);
                 UnixClient second = UnixClient.connect(socket)) {
                assertTrue(first.readLine().startsWith("IPC "));
                assertTrue(second.atEndOfStream(), "a second child for uid 0 passes -C 1");
                supervisor.awaitMatch(Pattern.compile("reject remote=uid:0,\\S+ local=unix:\\S+ reason=max-per-source"));
            }
        }
    }

    @Test
    void theSocketFileHasItsModeAndOwnerAndGoesAtStop() throws Exception {
        Path socket = dir.resolve("o.sock");
        try (ServerProcess supervisor = supervisor(List.of("-l", "unix:" + socket + ",mode=0660,owner=nobody,group=nogroup"))) {
            listening(supervisor, 1);
            assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS)));
            assertEquals(NOBODY, Files.getAttribute(socket, "unix:uid", LinkOption.NOFOLLOW_LINKS));
            assertEquals(NOBODY, Files.getAttribute(socket, "unix:gid", LinkOption.NOFOLLOW_LINKS));
            try (UnixClient client = UnixClient.connect(socket)) {
                assertTrue(client.readLine().startsWith("IPC "));
            }
            supervisor.signal("TERM");
            assertEquals(0, supervisor.awaitExit(Duration.ofSeconds(60)), supervisor.stderr().toString());
            assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "the socket file is removed at stop");
        }
    }

    @Test
    void aStaleSocketFileIsReplaced() throws Exception {
        Path socket = dir.resolve("stale.sock");
        // What a supervisor killed with SIGKILL leaves: a socket file nobody listens on.
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(socket));
        }
        assertTrue(Files.exists(socket, LinkOption.NOFOLLOW_LINKS));
        try (ServerProcess supervisor = supervisor(List.of("-l", "unix:" + socket));
             UnixClient client = awaitUnix(supervisor, socket)) {
            assertTrue(client.readLine().startsWith("IPC "));
        }
    }

    @Test
    void aLiveSocketIsNotStolenNorAnotherFileRemoved() throws Exception {
        Path socket = dir.resolve("live.sock");
        Path file = dir.resolve("plain");
        Files.writeString(file, "not a socket");
        Path fifo = dir.resolve("fifo"); // refuses a connect as a dead socket does, but is no socket
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor());
        try (ServerSocketChannel live = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            live.bind(UnixDomainSocketAddress.of(socket));
            for (Path path : List.of(socket, file, fifo)) {
                try (ServerProcess supervisor = supervisor(List.of("-l", "127.0.0.1:0", "-l", "unix:" + path))) {
                    assertEquals(Main.EXIT_FAILURE, supervisor.awaitExit(Duration.ofSeconds(60)));
                    List<String> ours = supervisor.stderr().stream().filter(line -> line.startsWith("forkserver")).toList();
                    String why = path.equals(socket) ? "is in use: another process listens on it"
                            : "exists and is not a socket; remove it, or listen elsewhere";
                    assertEquals(List.of("forkserver: cannot listen on unix:" + path + ": " + path + " " + why), ours);
                }
            }
            try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(socket));
                 SocketChannel accepted = live.accept()) {
                assertTrue(client.isConnected() && accepted.isConnected(), "the live socket still reaches its owner");
            }
            assertEquals("not a socket", Files.readString(file));
            assertTrue(Files.exists(fifo, LinkOption.NOFOLLOW_LINKS), "the FIFO is left alone");
        }
    }

    /** The supervisor with {@code options}, running {@link #TELLING_CAT}; {@code more} adds to what it tells. */
    private static ServerProcess supervisor(List<String> options, String... more) {
        List<String> args = new ArrayList<>(options);
        String extra = more.length == 0 ? "" : " " + String.join(" ", more);
        args.addAll(List.of("--stdio", "inout", "--", "/bin/sh", "-c", TELLING_CAT.formatted(extra)));
        return ServerProcess.supervisor(args.toArray(String[]::new));
    }

    /** The {@code listening} lines: address to how. */
    private static Map<String, String> listening(ServerProcess supervisor, int count) {
        Map<String, String> all = new HashMap<>();
        for (Matcher m : supervisor.awaitMatches(LISTENING, count)) {
            all.put(m.group(1), m.group(2));
        }
        return all;
    }

    private static UnixClient awaitUnix(ServerProcess supervisor, Path socket) {
        listening(supervisor, 1);
        return UnixClient.connect(socket);
    }

    private static InetSocketAddress tcp(Map<String, String> listening, String host) {
        for (String address : listening.keySet()) {
            if (address.startsWith(host + ":")) {
                return new InetSocketAddress(InetAddress.ofLiteral(host.replaceAll("[\\[\\]]", "")),
                        Integer.parseInt(address.substring(host.length() + 1)));
            }
        }
        throw new AssertionError("no listener on " + host + ": " + listening);
    }

    private static String format(InetSocketAddress address) {
        return forkserver.supervisor.base.HostPort.format(address);
    }

    private static void openToAll(Path directory) throws IOException {
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    /** Connects as nobody:nogroup and returns {the client's pid, the first line it read}. */
    private static List<String> asNobody(Path socket) throws Exception {
        String client = "import os, socket, sys\n"
                + "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
                + "s.settimeout(30)\n"
                + "s.connect(sys.argv[1])\n"
                + "line = s.makefile().readline().strip()\n"
                + "print(os.getpid()); print(line)\n";
        Process process = new ProcessBuilder("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups",
                "/usr/bin/python3", "-c", client, socket.toString()).redirectErrorStream(true).start();
        try {
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the client finished");
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, process.exitValue(), output);
            return output.lines().toList();
        } finally {
            process.destroyForcibly();
        }
    }

    /** A UNIX-domain client that reads lines with a deadline (a blocking channel has none: it is closed on expiry). */
    static final class UnixClient implements AutoCloseable {

        private final SocketChannel channel;
        private final BufferedReader in;

        private UnixClient(SocketChannel channel) {
            this.channel = channel;
            this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
        }

        static UnixClient connect(Path socket) {
            try {
                return new UnixClient(SocketChannel.open(UnixDomainSocketAddress.of(socket)));
            } catch (IOException e) {
                throw new UncheckedIOException("connecting to " + socket, e);
            }
        }

        String readLine() {
            CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
                try {
                    return in.readLine();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            try {
                return line.get(EchoClient.READ_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                close();
                throw new AssertionError("no line within " + EchoClient.READ_TIMEOUT_MILLIS + " ms", e);
            }
        }

        boolean atEndOfStream() {
            return readLine() == null;
        }

        String roundTrip(String line) {
            try {
                ByteBuffer bytes = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return readLine();
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException e) {
                // closed
            }
        }
    }
}
