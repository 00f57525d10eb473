package forkserver.testkit;

import forkserver.handler.Connection;
import forkserver.handler.Handler;

import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A handler for end-to-end tests whose warm-up keeps every descriptor it can get open (as a
 * warm-up that leaks files would), so that a spare running it has none free when its connection
 * is handed to it; {@code serve} answers one line, {@code served}. Run it with
 * {@link #environment()}.
 */
public final class DescriptorHogHandler implements Handler {

    /** Held until the process ends. */
    private static final List<FileInputStream> HELD = new ArrayList<>();

    @Override
    public void warmUp(List<String> arguments) {
        try {
            while (HELD.size() < 1_000_000) {
                HELD.add(new FileInputStream("/dev/null"));
            }
        } catch (IOException full) {
            // "Too many open files": what this warm-up is for
        }
    }

    @Override
    public void serve(Connection connection) throws IOException {
        connection.out().write("served\n".getBytes(StandardCharsets.UTF_8));
    }

    /** The environment that makes the default worker run this handler. */
    public static java.util.Map<String, String> environment() {
        return java.util.Map.of("FORKSERVER_WORKER_CLASSPATH", Project.home().resolve("worker/target/test-classes").toString(),
                "FORKSERVER_HANDLER", DescriptorHogHandler.class.getName());
    }
}
