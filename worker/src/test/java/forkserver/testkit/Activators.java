package forkserver.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;
import java.util.regex.Pattern;

/**
 * The real socket activators, started on a free loopback port: systemd's
 * {@code systemd-socket-activate}, and openbsd-inetd and xinetd in the foreground with a config
 * file of the test's own. Neither can bind port 0, so a free port is picked (bind port 0, close) and the tool
 * is started again on another one if the port was taken in between.
 */
public final class Activators {

    public static final String SYSTEMD_SOCKET_ACTIVATE = "/usr/bin/systemd-socket-activate";
    public static final String INETD = "/usr/sbin/inetd";
    /** Installed, or unpacked by bin/test beside openbsd-inetd (the two packages conflict). */
    private static final List<Path> XINETD = List.of(
            Path.of("/usr/sbin/xinetd"), Project.home().resolve(".ci/tools/xinetd/usr/sbin/xinetd"));
    private static final int ATTEMPTS = 5;
    private static final InetAddress LOOPBACK = loopback();

    /** A started activator and the address it listens on. Closing kills it and all it started. */
    public record Started(ServerProcess process, InetSocketAddress address) implements AutoCloseable {
        @Override
        public void close() {
            process.close();
        }
    }

    private Activators() {
    }

    /**
     * {@code systemd-socket-activate OPTIONS -E NAME=VALUE... -l 127.0.0.1:PORT COMMAND...}
     * (Debian package {@code systemd}), once it is listening. Like systemd, it gives its children
     * a fresh environment (PATH, HOME, USER, TERM and LISTEN_*): {@code env} and the test's
     * JAVA_HOME go through {@code -E}, as a unit's Environment= would.
     */
    public static Started systemdSocketActivate(List<String> options, List<String> command, Map<String, String> env) {
        requireInstalled(SYSTEMD_SOCKET_ACTIVATE, "systemd");
        return onFreePort(port -> {
            List<String> line = new ArrayList<>();
            line.add(SYSTEMD_SOCKET_ACTIVATE);
            line.addAll(options);
            line.addAll(List.of("-E", "JAVA_HOME=" + Project.javaHome()));
            env.forEach((name, value) -> line.addAll(List.of("-E", name + "=" + value)));
            line.addAll(List.of("-l", "127.0.0.1:" + port));
            line.addAll(command);
            ServerProcess process = ServerProcess.start(line, Map.of());
            // "Listening on 127.0.0.1:PORT as 3." or "Failed to listen on ...: Address already in use".
            boolean listening = process.awaitLineOrExit(Pattern.compile("Listening on 127\\.0\\.0\\.1:" + port + " "));
            return started(process, port, listening);
        });
    }

    /**
     * openbsd-inetd (Debian package {@code openbsd-inetd}) in the foreground ({@code -d}, which also
     * logs each spawn on stderr) with a config file in {@code directory} whose one line is
     * {@code 127.0.0.1:PORT stream tcp4 LINE}, once it is listening. inetd launders the environment
     * of its children (PATH and others): put what they need on the line, through env(1).
     */
    public static Started inetd(Path directory, String line) {
        requireInstalled(INETD, "openbsd-inetd");
        return onFreePort(port -> {
            Path config = directory.resolve("inetd.conf");
            try {
                Files.writeString(config, "127.0.0.1:" + port + " stream tcp4 " + line + "\n");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            ServerProcess process = ServerProcess.start(List.of(INETD, "-d", config.toString()), Map.of());
            return started(process, port, awaitListening(process, port));
        });
    }

    /**
     * inetd and xinetd do not say on stderr whether their bind worked (they retry quietly): look
     * in /proc for a listening socket of the process's own on the port. False: try another port.
     */
    static boolean awaitListening(ServerProcess process, int port) {
        try {
            Await.until(process.pid() + " to listen on port " + port, Await.DEFAULT.dividedBy(3),
                    () -> !process.isAlive() || listensOn(process.pid(), port));
            return process.isAlive();
        } catch (AssertionError e) {
            return false;
        }
    }

    /**
     * xinetd (Debian package {@code xinetd}) in the foreground with the config file
     * {@code config.apply(port)}, written in {@code directory}, once it is listening.
     */
    public static Started xinetd(Path directory, IntFunction<String> config) {
        String xinetd = XINETD.stream().filter(Files::isExecutable).findFirst().map(Path::toString)
                .orElseThrow(() -> new AssertionError("xinetd is in none of " + XINETD + ": apt-get install xinetd,"
                        + " or unpack it beside openbsd-inetd as bin/test does as root"));
        return onFreePort(port -> {
            Path file = directory.resolve("xinetd.conf");
            try {
                Files.writeString(file, config.apply(port));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            ServerProcess process = ServerProcess.start(List.of(xinetd, "-dontfork", "-f", file.toString(),
                    "-filelog", directory.resolve("xinetd.log").toString()), Map.of());
            return started(process, port, awaitListening(process, port));
        });
    }

    /** Whether process {@code pid} holds a socket listening on 127.0.0.1:{@code port} (IPv4). */
    public static boolean listensOn(long pid, int port) {
        try {
            Set<String> own = new HashSet<>();
            try (var fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
                for (Path fd : fds.toList()) {
                    try {
                        own.add(Files.readSymbolicLink(fd).toString());
                    } catch (IOException e) {
                        // closed meanwhile
                    }
                }
            }
            String local = "0100007F:" + String.format(Locale.ROOT, "%04X", port);
            List<String> table = Files.readAllLines(Path.of("/proc/net/tcp"));
            for (String row : table.subList(1, table.size())) {
                String[] f = row.trim().split("\\s+");
                // local_address rem_address st ... inode: st 0A is LISTEN
                if (f[1].equals(local) && f[3].equals("0A") && own.contains("socket:[" + f[9] + "]")) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            return false; // the process is gone
        }
    }

    static Started started(ServerProcess process, int port, boolean listening) {
        if (!listening) {
            process.close();
            return null;
        }
        return new Started(process, new InetSocketAddress(LOOPBACK, port));
    }

    static Started onFreePort(IntFunction<Started> start) {
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            Started started = start.apply(freePort());
            if (started != null) {
                return started;
            }
        }
        throw new AssertionError("could not start the activator on a free port in " + ATTEMPTS + " attempts");
    }

    /** A port that was free on 127.0.0.1 a moment ago. */
    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, LOOPBACK)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static InetAddress loopback() {
        try {
            return InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e); // only for a wrong length
        }
    }

    private static void requireInstalled(String program, String debianPackage) {
        if (!Files.isExecutable(Path.of(program))) {
            throw new AssertionError(program + " is not installed: apt-get install " + debianPackage
                    + " (bin/test as root does)");
        }
    }
}
