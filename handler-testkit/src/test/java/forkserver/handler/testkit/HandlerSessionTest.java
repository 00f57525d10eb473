package forkserver.handler.testkit;

import forkserver.handler.Handler;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class HandlerSessionTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void theHandlerSeesTheFactsTheTestSet() throws Exception {
        try (HandlerSession session = HandlerSession.builder().remoteIp("192.0.2.7").remotePort(4711)
                .env("SUFFIX", "!").arguments("welcome").start(new Greeter())) {
            session.send("ada\n");
            assertEquals("welcome ada from 192.0.2.7:4711 !", session.receiveLine());
            assertNull(session.receiveLine()); // the worker's end of conversation: end of file
            assertEquals(0, session.awaitExit(WAIT));
            assertNull(session.failure());
        }
    }

    @Test
    void chosenFactsAreInTheEnvironmentAsAWorkersAre() throws Exception {
        Handler variables = connection -> connection.out().write((connection.env("TCPREMOTEIP") + " "
                + connection.env("TCPREMOTEPORT") + " " + connection.env("TCPLOCALIP") + " " + connection.env("HOME")
                + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        try (HandlerSession session = HandlerSession.builder().remoteIp("192.0.2.7").remotePort(4711)
                .start(variables)) {
            assertEquals("192.0.2.7 4711 null null", session.receiveLine(), "not this JVM's environment either");
            assertEquals(0, session.awaitExit(WAIT));
        }
    }

    @Test
    void unsetFactsAreTheSocketsOwn() throws Exception {
        try (HandlerSession session = HandlerSession.start(new Greeter())) {
            session.send("ada\n");
            assertEquals("hello ada from 127.0.0.1:" + session.client().getLocalPort(), session.receiveLine());
            assertEquals(0, session.awaitExit(WAIT));
        }
    }

    @Test
    void theExitStatusIsTheHandlersChoice() throws Exception {
        try (HandlerSession session = HandlerSession.start(new Greeter())) {
            session.send("nobody\n");
            session.receiveAll();
            assertEquals(65, session.awaitExit(WAIT));
        }
    }

    @Test
    void aHandlerThatThrowsEndsWithStatusOneAndTheFailureIsKept() throws Exception {
        Handler broken = connection -> {
            throw new IOException("broken on purpose");
        };
        try (HandlerSession session = HandlerSession.start(broken)) {
            assertEquals("", session.receiveAll());
            assertEquals(1, session.awaitExit(WAIT));
            assertInstanceOf(IOException.class, session.failure());
        }
    }

    @Test
    void aHandlerStillServingIsATimeoutNotAHang() throws Exception {
        try (HandlerSession session = HandlerSession.start(new Greeter())) { // waits for a line never sent
            assertThrows(TimeoutException.class, () -> session.awaitExit(Duration.ofMillis(200)));
        }
    }

    @Test
    void aClientThatClosesGivesTheHandlerEndOfFile() throws Exception {
        try (HandlerSession session = HandlerSession.start(new Greeter())) {
            session.shutdownInput();
            assertEquals("hello null from 127.0.0.1:" + session.client().getLocalPort(), session.receiveLine());
            assertEquals(0, session.awaitExit(WAIT));
        }
    }
}
