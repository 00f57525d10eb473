package forkserver.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * A real HAProxy (Debian package {@code haproxy}) on a free loopback port, in the foreground
 * ({@code -db}) with a config file of the test's own in a temporary directory, and a client for
 * its runtime API on a UNIX socket in that directory. Like {@link Activators}: the port is
 * picked free and HAProxy started again on another if it was taken in between; closing kills it.
 */
public final class HaProxy {

    public static final String HAPROXY = "/usr/sbin/haproxy";
    /** The runtime API's socket, in the directory the config file is written to. */
    public static final String ADMIN_SOCKET = "admin.sock";

    /** A running HAProxy: its frontend's address (127.0.0.1, and [::1] on the same port) and its runtime API. */
    public record Started(ServerProcess process, InetSocketAddress address, Path adminSocket) implements AutoCloseable {

        /** One runtime API command ({@code show stat}, {@code set server be/s1 state drain}); its answer. */
        public String command(String command) {
            return HaProxy.command(adminSocket, command);
        }

        /**
         * The {@code status} column of {@code show stat} for {@code backend/server}: {@code UP},
         * {@code DOWN}, {@code DRAIN}, {@code MAINT}, {@code no check} ...
         */
        public String serverStatus(String backend, String server) {
            List<String> rows = command("show stat").lines().toList();
            List<String> columns = List.of(rows.getFirst().replaceFirst("^# ", "").split(","));
            int status = columns.indexOf("status");
            for (String row : rows.subList(1, rows.size())) {
                String[] fields = row.split(",", -1);
                if (fields.length > status && fields[0].equals(backend) && fields[1].equals(server)) {
                    return fields[status];
                }
            }
            throw new AssertionError("no server " + backend + "/" + server + " in " + rows);
        }

        @Override
        public void close() {
            process.close();
        }
    }

    private HaProxy() {
    }

    /**
     * {@code haproxy -db -f DIRECTORY/haproxy.cfg} with {@code config.apply(port)} as the file,
     * once it listens on 127.0.0.1:port. The config should put its stats socket at
     * {@code DIRECTORY/admin.sock} ({@link #testConfig} does).
     */
    public static Started start(Path directory, IntFunction<String> config) {
        if (!Files.isExecutable(Path.of(HAPROXY))) {
            throw new AssertionError(HAPROXY + " is not installed: apt-get install haproxy (.ci/run does)");
        }
        Path adminSocket = directory.resolve(ADMIN_SOCKET);
        Activators.Started started = Activators.onFreePort(port -> {
            Path file = directory.resolve("haproxy.cfg");
            try {
                Files.deleteIfExists(adminSocket);
                Files.writeString(file, config.apply(port));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            ServerProcess process = ServerProcess.start(List.of(HAPROXY, "-db", "-f", file.toString()), Map.of());
            return Activators.started(process, port, Activators.awaitListening(process, port));
        });
        Await.until("HAProxy's runtime API at " + adminSocket, () -> Files.exists(adminSocket));
        return new Started(started.process(), started.address(), adminSocket);
    }

    /**
     * A config for tests: TCP mode, a frontend on 127.0.0.1:PORT and [::1]:PORT, one backend
     * {@code be} with {@code balance leastconn} and servers {@code s0}, {@code s1}, ... at
     * {@code servers}, each with {@code serverOptions} ({@code send-proxy-v2 check check-send-proxy}),
     * logging to stderr, the runtime API at {@code directory/admin.sock}.
     */
    public static IntFunction<String> testConfig(Path directory, List<InetSocketAddress> servers, String serverOptions) {
        return port -> {
            StringBuilder config = new StringBuilder()
                    .append("global\n")
                    .append("    log stderr format raw local0\n")
                    .append("    stats socket ").append(directory.resolve(ADMIN_SOCKET)).append(" mode 600 level admin\n")
                    .append("defaults\n")
                    .append("    mode tcp\n    log global\n    option tcplog\n")
                    .append("    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n    timeout check 2s\n")
                    .append("frontend fe\n")
                    .append("    bind 127.0.0.1:").append(port).append('\n')
                    .append("    bind [::1]:").append(port).append('\n')
                    .append("    default_backend be\n")
                    .append("backend be\n")
                    .append("    balance leastconn\n");
            for (int i = 0; i < servers.size(); i++) {
                InetSocketAddress server = servers.get(i);
                config.append("    server s").append(i).append(' ').append(server.getAddress().getHostAddress())
                        .append(':').append(server.getPort()).append(' ').append(serverOptions).append('\n');
            }
            return config.toString();
        };
    }

    /** Sends one command to the runtime API on {@code socket} and returns the whole answer. */
    public static String command(Path socket, String command) {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            channel.write(ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.US_ASCII)));
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            ByteBuffer buffer = ByteBuffer.allocate(8192);
            while (channel.read(buffer) >= 0) { // HAProxy closes after answering one command
                answer.write(buffer.array(), 0, buffer.position());
                buffer.clear();
            }
            return answer.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("HAProxy runtime API at " + socket + ": " + command, e);
        }
    }
}
