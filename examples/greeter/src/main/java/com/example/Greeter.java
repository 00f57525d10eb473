package com.example;

import forkserver.handler.Connection;
import forkserver.handler.Handler;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Asks for a name and greets it with the client's address: {@code forkserver --handler
 * com.example.Greeter [--handler-arg GREETING]}. An empty name ends the process with status 65,
 * which the supervisor's {@code end} line shows.
 */
public final class Greeter implements Handler {

    static final int EXIT_NO_NAME = 65;

    @Override
    public void serve(Connection connection) throws IOException {
        OutputStream out = connection.out();
        out.write("name? ".getBytes(StandardCharsets.UTF_8));
        String name = new BufferedReader(new InputStreamReader(connection.in(), StandardCharsets.UTF_8)).readLine();
        if (name == null || name.isBlank()) {
            connection.setExitStatus(EXIT_NO_NAME);
            return;
        }
        String greeting = connection.arguments().isEmpty() ? "hello" : connection.arguments().getFirst();
        out.write((greeting + " " + name.strip() + ", from " + connection.remoteIp() + "\n")
                .getBytes(StandardCharsets.UTF_8));
    }
}
