package forkserver.supervisor;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --log-format json}: every line of the log is one JSON object, with the text format's fields. */
class JsonLogIT {

    @Test
    void everyLineParsesAndCarriesTheFields() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--log-format", "json",
                "-C", "3", "--stdio", "inout", "--", "/bin/sh", "-c", "echo 'a \"quoted\" \\\\ line'; exit 7")) {
            Matcher listening = supervisor.awaitMatch(Pattern.compile("\"address\":\"127\\.0\\.0\\.1:(\\d+)\""));
            InetSocketAddress address = new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), Integer.parseInt(listening.group(1)));
            int clientPort;
            try (EchoClient client = EchoClient.connect(address)) {
                clientPort = client.localPort();
                assertEquals("a \"quoted\" \\ line", client.readLine());
            }
            supervisor.awaitMatch(Pattern.compile("\"event\":\"end\""));
            supervisor.signal("USR1");
            supervisor.awaitMatch(Pattern.compile("\"event\":\"status\""));

            List<JsonObject> events = supervisor.stderr().stream().map(line -> JsonParser.parseString(line).getAsJsonObject()).toList();
            Map<String, JsonObject> byEvent = events.stream().collect(Collectors.toMap(e -> e.get("event").getAsString(), e -> e));
            assertTrue(byEvent.get("listening").get("command").getAsString().endsWith("exit 7"));

            JsonObject start = byEvent.get("start");
            long pid = start.get("pid").getAsLong();
            assertEquals("127.0.0.1:" + clientPort, start.get("remote").getAsString());
            assertEquals("127.0.0.1:" + address.getPort(), start.get("local").getAsString());
            assertEquals(1, start.get("children").getAsInt());
            assertEquals(40, start.get("children_limit").getAsInt());
            assertEquals(1, start.get("per_source").getAsInt());
            assertEquals(3, start.get("per_source_limit").getAsInt());

            JsonObject end = byEvent.get("end");
            assertEquals(pid, end.get("pid").getAsLong());
            assertEquals(7, end.get("status").getAsInt());
            assertTrue(end.get("duration").getAsDouble() > 0);
            assertEquals("127.0.0.1:" + clientPort, end.get("remote").getAsString());
            assertEquals(0, end.get("children").getAsInt());

            JsonObject status = byEvent.get("status");
            assertEquals(1, status.get("accepted").getAsInt());
            assertEquals(1, status.getAsJsonObject("exited").get("status-7").getAsInt());
            assertEquals(0, status.getAsJsonObject("rejected").size());
        }
    }
}
