package forkserver.supervisor.log;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import forkserver.supervisor.PerSourceIT;
import forkserver.testkit.Await;
import forkserver.testkit.Descriptors;
import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Children's stderr in the log: events of their own, cut, rate-limited, never in the way. */
class ChildStderrIT {

    @Test
    void underJsonEveryLineStillParsesAndSaysWhoseItIs() {
        String script = "echo oops >&2; echo '{\"event\":\"fake\"' >&2; head -c 5000 /dev/zero | tr '\\0' x >&2; echo >&2;"
                + " printf 'no newline' >&2; echo served";
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--log-format", "json",
                "--log-timestamps", "--", "/bin/sh", "-c", script)) {
            Matcher listening = supervisor.awaitMatch(Pattern.compile("\"address\":\"127\\.0\\.0\\.1:(\\d+)\""));
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", Integer.parseInt(listening.group(1)));
            try (EchoClient client = EchoClient.connect(address)) {
                assertEquals("served", client.readLine(), "stdout is the client's (inout with a COMMAND)");
            }
            supervisor.awaitMatch(Pattern.compile("\"line\":\"no newline\""));
            supervisor.awaitMatch(Pattern.compile("\"event\":\"end\""));
            List<JsonObject> events = supervisor.stderr().stream().map(line -> JsonParser.parseString(line).getAsJsonObject()).toList();
            long pid = events.stream().filter(e -> e.get("event").getAsString().equals("start")).findFirst().orElseThrow()
                    .get("pid").getAsLong();
            List<JsonObject> lines = events.stream().filter(e -> e.get("event").getAsString().equals("stderr")).toList();
            assertEquals(List.of("oops", "{\"event\":\"fake\"", "x".repeat(ChildStderr.LINE_LIMIT), "no newline"),
                    lines.stream().map(e -> e.get("line").getAsString()).toList());
            assertTrue(lines.stream().allMatch(e -> e.get("pid").getAsLong() == pid), "each says whose it is: " + lines);
            assertEquals(5000 - ChildStderr.LINE_LIMIT, lines.get(2).get("cut").getAsLong(), "the long line says what was cut");
            assertTrue(events.stream().allMatch(e -> e.get("time").getAsString()
                    .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z")), "--log-timestamps: " + events);
        }
    }

    /**
     * Processes a child leaves behind may keep its stderr: its pipe is closed soon after the
     * child's exit anyway, so that leftovers pile up no descriptor in the supervisor (300
     * sessions left 307 pipes open), and what the child wrote last is still logged.
     */
    @Test
    void pipesHeldByLeftoversAreClosedSoonAfterTheirChildsExit() throws Exception {
        int sessions = 20;
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--", "/bin/sh", "-c",
                "sleep 60.5 & echo last words >&2; echo served")) {
            InetSocketAddress address = supervisor.awaitListening();
            int before = Descriptors.of(supervisor.pid()).size();
            for (int i = 0; i < sessions; i++) {
                try (EchoClient client = EchoClient.connect(address)) {
                    assertEquals("served", client.readLine());
                }
            }
            supervisor.awaitMatches(Pattern.compile("end pid="), sessions);
            Await.until("the supervisor back to " + before + " descriptors", () -> {
                try {
                    return Descriptors.of(supervisor.pid()).size() <= before;
                } catch (java.io.IOException e) {
                    return false;
                }
            });
            assertEquals(sessions, supervisor.matches(Pattern.compile("stderr pid=\\d+ line=\"last words\"")).size());
        } finally {
            // The leftovers themselves (reparented, no longer the supervisor's descendants).
            ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").endsWith("sleep 60.5"))
                    .forEach(ProcessHandle::destroyForcibly);
        }
    }

    @Test
    void aFloodingChildIsRateLimitedWithACountAndHoldsNobodyUp() {
        // 10 MB of stderr, then a line to the client: it arrives only if the supervisor read it all.
        String flood = "if [ \"$TCPREMOTEIP\" = 127.0.0.1 ]; then yes 'flooding the log' | head -c 10000000 >&2; fi; echo done";
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--", "/bin/sh", "-c", flood)) {
            InetSocketAddress address = supervisor.awaitListening();
            try (EchoClient flooding = EchoClient.connect(address)) {
                try (EchoClient other = EchoClient.connect(address, PerSourceIT.SECOND)) {
                    assertEquals("done", other.readLine(), "another client is served meanwhile");
                }
                assertEquals("done", flooding.readLine(), "the child was never held up by its stderr");
            }
            long pid = Long.parseLong(supervisor.awaitMatch(Pattern.compile("start pid=(\\d+) remote=127\\.0\\.0\\.1:")).group(1));
            long lines = (10_000_000 + 16) / 17; // "flooding the log\n", the last one cut short by head
            Pattern logged = Pattern.compile("stderr pid=" + pid + " line=");
            Pattern dropped = Pattern.compile("stderr-dropped pid=" + pid + " lines=(\\d+) bytes=(\\d+)");
            Await.until("every line logged or counted as dropped", () -> supervisor.matches(logged).size()
                    + supervisor.matches(dropped).stream().mapToLong(m -> Long.parseLong(m.group(1))).sum() >= lines);
            long loggedLines = supervisor.matches(logged).size();
            assertTrue(loggedLines <= 2 * ChildStderr.CHILD_BURST, "bounded: " + loggedLines + " of " + lines + " lines logged");
            assertTrue(supervisor.matches(dropped).stream().mapToLong(m -> Long.parseLong(m.group(2))).sum()
                    > 9_000_000, "the bytes dropped are counted too");
        }
    }

    /**
     * Pipe descriptors are reused from one child to the next, while the reader closes the last
     * one: every child's line must still arrive (a stream dropped for its predecessor's would
     * leave the pipe unread and the reader spinning on it).
     */
    @Test
    void everyChildsLinesArriveThoughTheirDescriptorNumbersAreReused() throws Exception {
        int clients = 4;
        int sessions = 40;
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--",
                "/bin/sh", "-c", "echo \"from $TCPREMOTEPORT\" >&2; echo done")) {
            InetSocketAddress address = supervisor.awaitListening();
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(clients);
            try {
                List<java.util.concurrent.Future<List<Integer>>> ports = new java.util.ArrayList<>();
                for (int c = 0; c < clients; c++) {
                    ports.add(pool.submit(() -> {
                        List<Integer> mine = new java.util.ArrayList<>();
                        for (int i = 0; i < sessions; i++) {
                            try (EchoClient client = EchoClient.connect(address)) {
                                assertEquals("done", client.readLine());
                                mine.add(client.localPort());
                            }
                        }
                        return mine;
                    }));
                }
                for (java.util.concurrent.Future<List<Integer>> future : ports) {
                    for (int port : future.get()) {
                        supervisor.awaitMatch(Pattern.compile("stderr pid=\\d+ line=\"from " + port + "\""));
                    }
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void theWorkersOwnDiagnosticsTakeTheSamePath() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--idle-timeout", "300ms");
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("hi", client.roundTrip("hi"));
            assertTrue(client.atEndOfStream(), "closed when idle");
            long pid = supervisor.awaitChildPidOf(client.localPort());
            supervisor.awaitMatch(Pattern.compile("stderr pid=" + pid + " line=\"forkserver worker: no input for 0\\.3"));
            supervisor.awaitMatch(Pattern.compile("end pid=" + pid + " status=3"));
        }
    }

}
