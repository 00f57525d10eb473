package com.example;

import forkserver.handler.Connection;
import forkserver.handler.Handler;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * HTTP/1.1 with keep-alive, one process per connection: {@code forkserver --handler
 * com.example.HttpHello}. {@code GET /} (or {@code HEAD}) answers which process serves this
 * connection and how many requests it has served, so that a client sees its keep-alive requests
 * share one process and its connections do not. Any other path is 404, any other method 405, a
 * request that does not parse 400 (and the connection ends).
 *
 * <p>The connection stays open between requests as HTTP/1.1 says (until {@code Connection:
 * close}, an HTTP/1.0 request without {@code keep-alive}, end of input, or
 * {@value #MAX_REQUESTS} requests). A client that stays idle holds its process: give the
 * supervisor a {@code --max-lifetime}.
 *
 * <p>The warm-up plays two requests through the same code over buffers, so a spare has the
 * parser, the response path and the pid it answers with loaded and compiled before its client
 * arrives.
 */
public final class HttpHello implements Handler {

    static final int MAX_REQUESTS = 1000;
    static final int MAX_LINE = 8192;
    static final int MAX_HEADERS = 100;
    static final long MAX_BODY = 1 << 20;

    /** A request that cannot be answered: its status and reason, after which the connection ends. */
    static final class BadRequest extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;

        BadRequest(int status, String reason) {
            super(reason, null, false, false);
            this.status = status;
        }
    }

    @Override
    public void serve(Connection connection) throws IOException {
        exchange(new BufferedInputStream(connection.in()), new BufferedOutputStream(connection.out()),
                ProcessHandle.current().pid());
    }

    @Override
    public void warmUp(List<String> arguments) throws IOException {
        byte[] requests = ("GET / HTTP/1.1\r\nHost: warm\r\n\r\n"
                + "HEAD /missing HTTP/1.1\r\nHost: warm\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        // The real pid, as serve() asks for it: ProcessHandle's first use loads and links its
        // classes and native part, several milliseconds a connection would otherwise wait for.
        exchange(new ByteArrayInputStream(requests), new ByteArrayOutputStream(), ProcessHandle.current().pid());
    }

    /** Answers requests from {@code in} on {@code out} until the connection should end. */
    static void exchange(InputStream in, OutputStream out, long pid) throws IOException {
        for (int served = 1; served <= MAX_REQUESTS; served++) {
            String requestLine;
            try {
                requestLine = readLine(in);
            } catch (BadRequest e) {
                respond(out, e.status, e.getMessage() + "\n", false, false);
                return;
            }
            if (requestLine == null) {
                return; // the client closed between requests: the normal end of keep-alive
            }
            boolean keepAlive;
            try {
                keepAlive = answer(requestLine, in, out, pid, served) && served < MAX_REQUESTS;
            } catch (BadRequest e) {
                respond(out, e.status, e.getMessage() + "\n", false, false);
                return;
            }
            if (!keepAlive) {
                return;
            }
        }
    }

    /** Reads the rest of one request and answers it; true when the connection stays open. */
    private static boolean answer(String requestLine, InputStream in, OutputStream out, long pid, int served)
            throws IOException, BadRequest {
        String[] parts = requestLine.split(" ", -1);
        if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
            throw new BadRequest(400, "bad request line");
        }
        boolean http11 = parts[2].equals("HTTP/1.1");
        String connectionHeader = null;
        long contentLength = 0;
        for (int count = 0; ; count++) {
            String header = readLine(in);
            if (header == null) {
                throw new BadRequest(400, "end of input in the headers");
            }
            if (header.isEmpty()) {
                break;
            }
            if (count == MAX_HEADERS) {
                throw new BadRequest(431, "too many header fields");
            }
            int colon = header.indexOf(':');
            if (colon <= 0) {
                throw new BadRequest(400, "bad header field");
            }
            String name = header.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = header.substring(colon + 1).trim();
            switch (name) {
                case "connection" -> connectionHeader = value.toLowerCase(Locale.ROOT);
                case "content-length" -> contentLength = contentLength(value);
                case "transfer-encoding" -> throw new BadRequest(501, "no transfer codings here");
                default -> { }
            }
        }
        if (contentLength > MAX_BODY) {
            throw new BadRequest(413, "body too large");
        }
        try {
            in.skipNBytes(contentLength); // this service reads no body: the next request starts after it
        } catch (java.io.EOFException e) {
            throw new BadRequest(400, "end of input in the body");
        }
        boolean keepAlive = http11 ? !"close".equals(connectionHeader) : "keep-alive".equals(connectionHeader);
        String method = parts[0];
        String path = parts[1];
        if (!method.equals("GET") && !method.equals("HEAD")) {
            respond(out, 405, "only GET and HEAD\n", keepAlive, false);
        } else if (!path.equals("/")) {
            respond(out, 404, "not found\n", keepAlive, method.equals("HEAD"));
        } else {
            respond(out, 200, "hello from process " + pid + ", request " + served + " on this connection\n",
                    keepAlive, method.equals("HEAD"));
        }
        return keepAlive;
    }

    private static long contentLength(String value) throws BadRequest {
        try {
            long length = Long.parseLong(value);
            if (length < 0) {
                throw new NumberFormatException();
            }
            return length;
        } catch (NumberFormatException e) {
            throw new BadRequest(400, "bad Content-Length");
        }
    }

    private static void respond(OutputStream out, int status, String body, boolean keepAlive, boolean headRequest)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        String reason = switch (status) {
            case 200 -> "OK";
            case 400 -> "Bad Request";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 413 -> "Content Too Large";
            case 431 -> "Request Header Fields Too Large";
            default -> "Not Implemented";
        };
        String header = "HTTP/1.1 " + status + " " + reason + "\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: " + bytes.length + "\r\n"
                + (keepAlive ? "" : "Connection: close\r\n")
                + (status == 405 ? "Allow: GET, HEAD\r\n" : "")
                + "\r\n";
        out.write(header.getBytes(StandardCharsets.US_ASCII));
        if (!headRequest) {
            out.write(bytes);
        }
        out.flush();
    }

    /**
     * One line of the request without its CRLF (a bare LF is accepted), or null at end of input
     * before its first byte.
     */
    static String readLine(InputStream in) throws IOException, BadRequest {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1 && b != '\n') {
            if (line.size() == MAX_LINE) {
                throw new BadRequest(431, "line too long");
            }
            line.write(b);
        }
        if (b == -1 && line.size() == 0) {
            return null;
        }
        if (b == -1) {
            throw new BadRequest(400, "end of input in a line");
        }
        String text = line.toString(StandardCharsets.ISO_8859_1);
        return text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
    }
}
