package forkserver.handler.testkit;

import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The handler as forkserver runs it: this checkout's bin/supervisor (forkserver.command), workers, spares. */
class ForkserverProcessIT {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void servesTheHandlerOneProcessPerConnectionWithItsArgumentsAndExitStatus() throws IOException {
        try (ForkserverProcess server = ForkserverProcess.builder().handler(Greeter.class)
                .handlerArguments("welcome").start()) {
            assertTrue(server.address().getPort() > 0);
            assertEquals("welcome ada from 127.0.0.1", greet(server.address(), "ada").replaceFirst(":\\d+$", ""));
            server.awaitLog("end .*status=0", WAIT);
            greet(server.address(), "nobody");
            server.awaitLog("end .*status=65", WAIT);
        }
    }

    @Test
    void sparesRunTheHandlersWarmUpBeforeTheyAreReady() throws IOException {
        try (ForkserverProcess server = ForkserverProcess.builder().handler(Greeter.class)
                .handlerArguments("hi", "-x").option("--spares", "1").start()) {
            server.awaitLog(Greeter.WARMED_UP + " \\[hi, -x]", WAIT);
            server.awaitLog("spare-ready", WAIT);
            assertTrue(greet(server.address(), "ada").startsWith("hi ada from 127.0.0.1:"));
        }
    }

    @Test
    void aHandlerTheWorkerCannotLoadStopsTheSupervisorAtStartUp() {
        IOException failure = assertThrows(IOException.class,
                () -> ForkserverProcess.builder().handler("com.example.NoSuchHandler").start().close());
        assertTrue(failure.getMessage().contains("exited 2"), failure.getMessage());
        assertTrue(failure.getMessage().contains("unknown handler 'com.example.NoSuchHandler'"), failure.getMessage());
        assertFalse(failure.getMessage().contains("Exception"), failure.getMessage()); // one line, no trace
    }

    private static String greet(InetSocketAddress address, String name) throws IOException {
        try (Socket client = new Socket()) {
            client.connect(address, 10_000);
            client.setSoTimeout(60_000);
            OutputStream out = client.getOutputStream();
            out.write((name + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            return new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8)).readLine();
        }
    }
}
