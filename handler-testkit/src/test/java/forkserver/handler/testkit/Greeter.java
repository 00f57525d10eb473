package forkserver.handler.testkit;

import forkserver.handler.Connection;
import forkserver.handler.Handler;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The test kit's own subject: reads a name, answers {@code GREETING name from IP}, GREETING being
 * its first argument ("hello" without); ends with status 65 for the name {@code nobody}. Its
 * warm-up says so on stderr, so that a test sees spares run it.
 */
public final class Greeter implements Handler {

    public static final String WARMED_UP = "greeter warmed up with";

    @Override
    public void serve(Connection connection) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(connection.in(), StandardCharsets.UTF_8));
        String name = in.readLine();
        String greeting = connection.arguments().isEmpty() ? "hello" : connection.arguments().getFirst();
        OutputStream out = connection.out();
        out.write((greeting + " " + name + " from " + connection.remoteIp() + ":" + connection.remotePort()
                + (connection.env("SUFFIX") == null ? "" : " " + connection.env("SUFFIX")) + "\n")
                .getBytes(StandardCharsets.UTF_8));
        if ("nobody".equals(name)) {
            connection.setExitStatus(65);
        }
    }

    @Override
    public void warmUp(List<String> arguments) {
        System.err.println(WARMED_UP + " " + arguments);
    }
}
