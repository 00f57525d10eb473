package forkserver.bench;

import forkserver.testkit.EchoClient;
import forkserver.testkit.Project;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every model speaks the worker's echo protocol exactly, or its figures would compare different
 * work: the same sessions against each model's real server on loopback. A model whose program is
 * not installed (tcpserver, systemd-socket-activate) is skipped, not failed.
 */
@ParameterizedClass(name = "{0} {1}")
@MethodSource("models")
class EchoConformanceIT {

    @Parameter(0)
    Model model;

    @Parameter(1)
    String echoProgram;

    @TempDir
    static Path logs;

    private static ModelServer server;

    /** Every model with the native echo program bin/bench uses here, and process-native with the sh fallback too. */
    static Stream<Arguments> models() {
        return Stream.concat(Models.ALL.stream().map(m -> Arguments.of(m, "")),
                Stream.of(Arguments.of(Models.named("process-native"), "sh")));
    }

    @BeforeParameterizedClassInvocation
    static void start(Model model, String echoProgram) {
        assumeTrue(model.requires() == null || Bench.onPath(model.requires()), "no " + model.requires() + " on PATH");
        Path home = Project.home();
        List<String> echo = echoProgram.equals("sh")
                ? List.of("/bin/sh", home.resolve(NativeEcho.SCRIPT).toString())
                : NativeEcho.prepare(home).command();
        server = ModelServer.start(model, Bench.contexts(home, echo), logs, "conformance", false);
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    @Test
    void echoesLinesThenSaysByeToDoneAndCloses() {
        try (EchoClient client = EchoClient.connect(server.address())) {
            assertEquals("hello", client.roundTrip("hello"));
            assertEquals("", client.roundTrip(""));
            assertEquals("two words", client.roundTrip("two words"));
            assertEquals("bye!", client.roundTrip("done"));
            assertTrue(client.atEndOfStream(), "the server closes after bye!");
        }
    }

    @Test
    void doneIsTrimmedButNotGuessed() {
        try (EchoClient client = EchoClient.connect(server.address())) {
            assertEquals("undone", client.roundTrip("undone"));
            assertEquals("done!", client.roundTrip("done!"));
            assertEquals("do ne", client.roundTrip("do ne"));
            assertEquals("bye!", client.roundTrip(" \tdone  "));
            assertTrue(client.atEndOfStream());
        }
    }

    @Test
    void endOfInputEndsTheSessionAndALastLineWithoutNewlineIsEchoed() throws IOException {
        try (EchoClient client = EchoClient.connect(server.address())) {
            assertEquals("first", client.roundTrip("first"));
            OutputStream raw = client.socket().getOutputStream();
            raw.write("tail".getBytes(StandardCharsets.UTF_8));
            raw.flush();
            client.shutdownOutput();
            assertEquals("tail", client.readLine());
            assertTrue(client.atEndOfStream());
        }
    }

    @Test
    void aLongLineComesBackWhole() {
        String line = "x".repeat(100_000);
        try (EchoClient client = EchoClient.connect(server.address())) {
            assertEquals(line, client.roundTrip(line));
            assertEquals("bye!", client.roundTrip("done"));
        }
    }

    @Test
    void connectionsAreIndependent() {
        try (EchoClient a = EchoClient.connect(server.address()); EchoClient b = EchoClient.connect(server.address())) {
            assertEquals("to b", b.roundTrip("to b"));
            assertEquals("to a", a.roundTrip("to a"));
            assertEquals("bye!", b.roundTrip("done"));
            assertTrue(b.atEndOfStream());
            assertEquals("a still here", a.roundTrip("a still here"));
            assertEquals("bye!", a.roundTrip("done"));
        }
    }

    @Test
    void theBenchClientAgrees() {
        assertTrue(Session.run(server.address(), "bench client") > 0);
    }
}
