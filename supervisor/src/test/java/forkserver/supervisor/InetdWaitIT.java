package forkserver.supervisor;

import forkserver.testkit.Activators;
import forkserver.testkit.Await;
import forkserver.testkit.EchoClient;
import forkserver.testkit.Listening;
import forkserver.testkit.FdListing;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bin/supervisor under a real openbsd-inetd in {@code wait} mode: inetd keeps the listening
 * socket, puts it on the supervisor's fds 0, 1 and 2, and listens again itself once the
 * supervisor has exited.
 */
class InetdWaitIT {

    private static final Pattern EXECV = Pattern.compile("^(\\d+) execv ");

    /**
     * The socket belongs to inetd: after the supervisor stops on SIGTERM, the next client makes
     * inetd start a new one on the same socket.
     */
    @Test
    void servesTheSocketAndLeavesItToInetdWhenStopped(@TempDir Path directory) throws IOException {
        // inetd gives the supervisor the socket as stderr too; the supervisor would park it on
        // /dev/null. A wrapper sends the log to a file instead, as an operator would.
        Path log = directory.resolve("supervisor.log");
        Path wrapper = executable(directory.resolve("supervisor-logging"), "#!/bin/sh\nexec 2>>'" + log + "'\n"
                + "export JAVA_HOME='" + Project.javaHome() + "'\nexec '" + Project.bin("supervisor") + "' \"$@\"\n");
        String line = "wait " + System.getProperty("user.name") + " " + wrapper + " supervisor";
        try (Activators.Started inetd = Activators.inetd(directory, line)) {
            try (EchoClient first = EchoClient.connect(inetd.address());
                 EchoClient second = EchoClient.connect(inetd.address())) {
                assertEquals("one", first.roundTrip("one"));
                assertEquals("two", second.roundTrip("two"));
                assertEquals("bye!", first.roundTrip("done"));
                assertEquals("bye!", second.roundTrip("done"));
            }
            Listening expected = new Listening("127.0.0.1", inetd.address().getPort(), "inherited on fd 0");
            Await.until("the startup line in " + log, () -> Listening.in(read(log)).equals(Optional.of(expected)));
            long supervisor = Long.parseLong(inetd.process().awaitMatch(EXECV).group(1));

            ServerProcess.signal(supervisor, "TERM");
            inetd.process().awaitMatch(Pattern.compile("^" + supervisor + " reaped, status 0$"));
            assertTrue(read(log).contains("forkserver: stopped"), read(log));

            try (EchoClient third = EchoClient.connect(inetd.address())) {
                assertEquals("three", third.roundTrip("three"));
            }
            assertEquals(2, inetd.process().matches(EXECV).size(), "a second supervisor: " + inetd.process().stderr());
        }
    }

    /** A child gets the connection and its stderr pipe, never the listening socket that was on fds 0 to 2. */
    @Test
    void aChildHoldsNoneOfTheListeningSocketsCopies(@TempDir Path directory) {
        Path script = executable(directory.resolve("list-fds"), "#!/bin/sh\n" + FdListing.LIST_FDS + "\n");
        String line = "wait " + System.getProperty("user.name") + " /usr/bin/env env JAVA_HOME=" + Project.javaHome()
                + " " + Project.bin("supervisor") + " --stdio inout -- " + script;
        try (Activators.Started inetd = Activators.inetd(directory, line);
             EchoClient client = EchoClient.connect(inetd.address())) {
            Map<Integer, String> fds = FdListing.parse(FdListing.linesUntilEnd(client));
            // fd 3 and up: the shell's own script file, if any; never a socket.
            fds.forEach((fd, target) -> assertTrue(fd <= 1 || !target.startsWith("socket:"), "fd " + fd + ": " + fds));
            assertTrue(fds.get(0).startsWith("socket:") && fds.get(0).equals(fds.get(1)), "the connection: " + fds);
            // The supervisor's own stderr was the listening socket (parked on /dev/null); a child's
            // fd 2 is a pipe of its own, which the supervisor logs.
            assertTrue(fds.get(2).startsWith("pipe:"), "fd 2 is the child's stderr pipe: " + fds);
        }
    }

    private static Path executable(Path path, String text) {
        try {
            Files.writeString(path, text);
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwxr-xr-x"));
            return path;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(Path path) {
        try {
            return Files.exists(path) ? Files.readString(path) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
