package forkserver.handler.testkit;

import forkserver.handler.Connection;
import forkserver.handler.Handler;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/** Reads a line and answers it with the TLS facts the worker gave: SSL_* variables and the session. */
public final class TlsFacts implements Handler {

    @Override
    public void serve(Connection connection) throws IOException {
        String line = new BufferedReader(new InputStreamReader(connection.in(), StandardCharsets.UTF_8)).readLine();
        String facts = "got=" + line
                + " protocol=" + connection.env("SSL_PROTOCOL")
                + " cipher=" + connection.env("SSL_CIPHER")
                + " sni=" + connection.env("SSL_TLS_SNI_SERVERNAME")
                + " peer=" + connection.env("SSL_PEER_CERT_SUBJECT")
                + " session=" + connection.tlsSession().map(session -> session.getProtocol()).orElse("none") + "\n";
        connection.out().write(facts.getBytes(StandardCharsets.UTF_8));
    }
}
