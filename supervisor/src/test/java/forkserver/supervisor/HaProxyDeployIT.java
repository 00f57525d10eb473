package forkserver.supervisor;

import forkserver.supervisor.base.HostPort;
import forkserver.testkit.Await;
import forkserver.testkit.Command;
import forkserver.testkit.Deploy;
import forkserver.testkit.EchoClient;
import forkserver.testkit.HaProxy;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static forkserver.supervisor.ProxyProtocolIT.CLIENT_A;
import static forkserver.supervisor.ProxyProtocolIT.CLIENT_B;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shipped deploy/haproxy/haproxy.cfg, run by a real HAProxy in front of as many supervisors
 * as it has server lines, as the README's "Several hosts behind HAProxy" tells an operator to:
 * every host serves, health checks keep them UP, and one host drains (HAProxy's runtime API,
 * then SIGTERM) while the others go on serving.
 */
class HaProxyDeployIT {

    static final String CONFIG = "haproxy/haproxy.cfg";
    private static final Pattern SERVER = Pattern.compile("(?m)^(\\s+server\\s+)(\\S+)\\s+\\S+(.*)$");
    private static final Pattern START_FROM = Pattern.compile("start pid=\\d+ remote=127\\.0\\.0\\.[23]:(\\d+) ");

    @Test
    void theShippedConfigPassesHaproxysOwnCheck() {
        Command.Result check = Command.run(List.of(HaProxy.HAPROXY, "-c", "-f", Deploy.file(CONFIG).toString()), "",
                Duration.ofSeconds(60));
        assertEquals(0, check.exitValue(), check.stdout() + check.stderr());
        assertTrue(check.stdout().contains("Configuration file is valid"), check.stdout());
        assertFalse((check.stdout() + check.stderr()).contains("WARNING"), "no warning: " + check.stdout() + check.stderr());
    }

    @Test
    void everyHostServesAndOneDrainsWhileTheOthersGoOn(@TempDir Path dir) {
        List<String> hosts = SERVER.matcher(Deploy.localized(CONFIG)).results().map(m -> m.group(2)).toList();
        assertTrue(hosts.size() >= 2, "several hosts in " + CONFIG + ": " + hosts);
        List<ServerProcess> supervisors = new ArrayList<>();
        List<EchoClient> clients = new ArrayList<>();
        try {
            List<InetSocketAddress> addresses = new ArrayList<>();
            for (int i = 0; i < hosts.size(); i++) {
                supervisors.add(ProxyProtocolIT.supervisor("-c", "40"));
            }
            for (ServerProcess supervisor : supervisors) {
                addresses.add(supervisor.awaitListening());
            }
            try (HaProxy.Started haproxy = HaProxy.start(dir, localized(dir, addresses))) {
                for (String host : hosts) {
                    Await.until(host + " UP", () -> haproxy.serverStatus("forkservers", host).equals("UP"));
                }
                // Sessions held open: least connections spreads them over every host.
                for (int i = 0; i < 2 * hosts.size(); i++) {
                    clients.add(session(haproxy.address(), i % 2 == 0 ? CLIENT_A : CLIENT_B));
                }
                for (ServerProcess supervisor : supervisors) {
                    assertFalse(supervisor.matches(START_FROM).isEmpty(), "every host serves: " + supervisor.stderr());
                }

                ServerProcess drained = supervisors.getFirst();
                haproxy.command("set server forkservers/" + hosts.getFirst() + " state drain");
                assertEquals("DRAIN", haproxy.serverStatus("forkservers", hosts.getFirst()));
                int before = drained.matches(START_FROM).size();
                for (int i = 0; i < hosts.size(); i++) {
                    clients.add(session(haproxy.address(), CLIENT_B));
                }
                assertEquals(before, drained.matches(START_FROM).size(), "no new client for the drained host");

                // SIGTERM: the drained supervisor stops accepting and waits for its sessions.
                drained.signal("TERM");
                drained.awaitMatch(Pattern.compile("forkserver: stopping signal=TERM children=" + before + " "));
                List<Integer> itsClients = drained.matches(START_FROM).stream().map(m -> Integer.parseInt(m.group(1))).toList();
                for (EchoClient client : clients) {
                    assertEquals("still here", client.roundTrip("still here"), "every session goes on meanwhile");
                }
                clients.stream().filter(c -> itsClients.contains(c.localPort())).forEach(EchoClient::close);
                assertEquals(0, drained.awaitExit(Duration.ofSeconds(60)), "a clean stop once its sessions ended");
                try (EchoClient after = session(haproxy.address(), CLIENT_A)) {
                    assertEquals("served", after.roundTrip("served"), "the other hosts take the new clients");
                }
                ServerProcess other = supervisors.get(1);
                Matcher status = Await.value("health checks counted by " + hosts.get(1), Await.DEFAULT, () -> {
                    other.signal("USR1");
                    List<Matcher> lines = other.matches(Pattern.compile("status .* proxy-health-checks=(\\d+) (rejected=\\S+)"));
                    return !lines.isEmpty() && Integer.parseInt(lines.getLast().group(1)) > 0 ? lines.getLast() : null;
                });
                assertEquals("rejected=none", status.group(2), "health checks are no rejections: " + status.group());
            }
        } finally {
            clients.forEach(EchoClient::close);
            supervisors.forEach(ServerProcess::close);
        }
    }

    /** A session through HAProxy: the child's first line names this very client. */
    private static EchoClient session(InetSocketAddress haproxy, InetAddress source) {
        EchoClient client = EchoClient.connect(haproxy, source);
        String facts = client.readLine();
        assertTrue(facts != null && facts.startsWith(HostPort.ip(source) + " " + client.localPort() + " "), facts);
        return client;
    }

    /**
     * The shipped file made to run here: the frontend on the test's loopback port, the server
     * lines at the test's supervisors, the runtime API in the test's directory, the log on
     * stderr, and no chroot or user switch (the test need not be root).
     */
    static IntFunction<String> localized(Path dir, List<InetSocketAddress> supervisors) {
        String shipped = Deploy.localized(CONFIG);
        return port -> {
            StringBuilder config = new StringBuilder();
            int server = 0;
            for (String line : shipped.lines().toList()) {
                String trimmed = line.strip();
                if (trimmed.startsWith("chroot ") || trimmed.startsWith("user ") || trimmed.startsWith("group ")) {
                    continue;
                }
                Matcher m = SERVER.matcher(line);
                if (m.matches()) {
                    InetSocketAddress to = supervisors.get(server++);
                    line = m.group(1) + m.group(2) + " " + to.getAddress().getHostAddress() + ":" + to.getPort() + m.group(3);
                } else if (trimmed.startsWith("bind ")) {
                    line = "    bind 127.0.0.1:" + port;
                } else if (trimmed.startsWith("log /dev/log")) {
                    line = "    log stderr format raw local0";
                }
                config.append(line.replace("/run/haproxy/admin.sock", dir.resolve(HaProxy.ADMIN_SOCKET).toString()))
                        .append('\n');
            }
            return config.toString();
        };
    }
}
