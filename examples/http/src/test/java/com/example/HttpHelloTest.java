package com.example;

import forkserver.handler.testkit.HandlerSession;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The handler in this JVM over a real socket: what a client sees, byte for byte. */
class HttpHelloTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final long PID = ProcessHandle.current().pid(); // in-process: the test JVM serves

    @Test
    void keepsTheConnectionForTheNextRequestAndClosesWhenAsked() throws Exception {
        try (HandlerSession session = HandlerSession.start(new HttpHello())) {
            session.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(response(200, "OK", "hello from process " + PID + ", request 1 on this connection\n", true),
                    readOne(session));
            session.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assertEquals(response(200, "OK", "hello from process " + PID + ", request 2 on this connection\n", false),
                    session.receiveAll());
            assertEquals(0, session.awaitExit(WAIT));
        }
    }

    @Test
    void http10ClosesAfterOneAnswer() throws Exception {
        try (HandlerSession session = HandlerSession.start(new HttpHello())) {
            session.send("GET /nowhere HTTP/1.0\r\n\r\n");
            assertEquals(response(404, "Not Found", "not found\n", false), session.receiveAll());
        }
    }

    @Test
    void headHasTheLengthButNoBody() throws Exception {
        try (HandlerSession session = HandlerSession.start(new HttpHello())) {
            session.send("HEAD / HTTP/1.1\r\nConnection: close\r\n\r\n");
            String answer = session.receiveAll();
            assertTrue(answer.startsWith("HTTP/1.1 200 OK\r\n"), answer);
            assertTrue(answer.endsWith("\r\n\r\n"), answer);
        }
    }

    @Test
    void aBodyIsSkippedAndTheNextRequestFollowsIt() throws Exception {
        try (HandlerSession session = HandlerSession.start(new HttpHello())) {
            session.send("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nConnection: close\r\n\r\n");
            String answer = session.receiveAll();
            assertTrue(answer.startsWith("HTTP/1.1 405 Method Not Allowed\r\n"), answer);
            assertTrue(answer.contains("request 2 on this connection"), answer);
        }
    }

    @Test
    void garbageIsA400AndTheEnd() throws Exception {
        try (HandlerSession session = HandlerSession.start(new HttpHello())) {
            session.send("hello there\r\n\r\n");
            assertEquals(response(400, "Bad Request", "bad request line\n", false), session.receiveAll());
            assertEquals(0, session.awaitExit(WAIT));
        }
    }

    @Test
    void anEndlessLineIsRefusedNotBuffered() throws Exception {
        try (HandlerSession session = HandlerSession.start(new HttpHello())) {
            session.send("GET /" + "a".repeat(HttpHello.MAX_LINE) + " HTTP/1.1\r\n\r\n");
            assertTrue(session.receiveAll().startsWith("HTTP/1.1 431 "));
        }
    }

    @Test
    void theWarmUpServesWithoutAConnection() throws Exception {
        new HttpHello().warmUp(java.util.List.of());
    }

    private static String response(int status, String reason, String body, boolean keepAlive) {
        return "HTTP/1.1 " + status + " " + reason + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
                + body.length() + "\r\n" + (keepAlive ? "" : "Connection: close\r\n") + "\r\n" + body;
    }

    /** One response of known shape: the head, then Content-Length bytes. */
    private static String readOne(HandlerSession session) throws Exception {
        StringBuilder head = new StringBuilder();
        String line;
        int length = 0;
        while (!(line = session.receiveLine()).equals("\r")) {
            line = line.substring(0, line.length() - 1); // the \r of CRLF
            head.append(line).append("\r\n");
            if (line.startsWith("Content-Length: ")) {
                length = Integer.parseInt(line.substring(16).trim());
            }
        }
        byte[] body = session.client().getInputStream().readNBytes(length);
        return head + "\r\n" + new String(body, java.nio.charset.StandardCharsets.UTF_8);
    }
}
