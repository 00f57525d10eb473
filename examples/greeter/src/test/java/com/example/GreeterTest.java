package com.example;

import forkserver.handler.testkit.HandlerSession;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The handler in this JVM, over a real socket, with the client's address the test chose. */
class GreeterTest {

    @Test
    void greetsTheNameWithTheClientsAddress() throws Exception {
        try (HandlerSession session = HandlerSession.builder().remoteIp("192.0.2.7").arguments("welcome")
                .start(new Greeter())) {
            session.send("ada\n");
            assertEquals("name? welcome ada, from 192.0.2.7\n", session.receiveAll());
            assertEquals(0, session.awaitExit(Duration.ofSeconds(10)));
        }
    }

    @Test
    void noNameEndsWithItsOwnStatus() throws Exception {
        try (HandlerSession session = HandlerSession.start(new Greeter())) {
            session.shutdownInput();
            assertEquals("name? ", session.receiveAll());
            assertEquals(Greeter.EXIT_NO_NAME, session.awaitExit(Duration.ofSeconds(10)));
        }
    }
}
