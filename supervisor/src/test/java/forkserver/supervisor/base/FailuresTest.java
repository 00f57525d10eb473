package forkserver.supervisor.base;

import org.junit.jupiter.api.Test;

import forkserver.supervisor.base.Failures.Cost;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What a failure costs and how it is named: one short reason, never the JDK's paragraphs. */
class FailuresTest {

    @Test
    void aFailedStartIsTheErrnosNameAndTheCLibrarysWordsOnOneLine() {
        IOException jdk25 = new IOException("Cannot run program \"/bin/cat\": posix_spawn failed, error: 11"
                + " (Resource temporarily unavailable) \nPossible reasons:\n  - Spawn helper ran into JDK version mismatch\n");
        Failures.SpawnFailed failed = Failures.spawnFailed(jdk25);
        assertEquals("EAGAIN", failed.reason());
        assertEquals("posix_spawn failed: Resource temporarily unavailable", failed.getMessage());

        Failures.SpawnFailed exec = Failures.spawnFailed(
                new IOException("Cannot run program \"/x\": Exec failed, error: 2 (No such file or directory) "));
        assertEquals("ENOENT", exec.reason());
        assertEquals("Exec failed: No such file or directory", exec.getMessage());

        Failures.SpawnFailed older = Failures.spawnFailed(new IOException("Cannot run program \"x\": error=13, Permission denied"));
        assertEquals("EACCES", older.reason());
        assertEquals("Permission denied", older.getMessage());

        Failures.SpawnFailed unknown = Failures.spawnFailed(new IOException("something else\nand more"));
        assertEquals("EIO", unknown.reason());
        assertEquals("something else", unknown.getMessage());
    }

    @Test
    void whatTheSystemRefusesOneConnectionCostsThatConnection() {
        Failures.Failure noThread = Failures.of(new OutOfMemoryError(
                "unable to create native thread: possibly out of memory or process/resource limits reached"));
        assertEquals(Cost.CONNECTION, noThread.cost());
        assertEquals("EAGAIN", noThread.reason());
        assertEquals(Cost.CONNECTION, Failures.of(new IllegalStateException("a bug on one path")).cost());
        assertEquals("internal-error", Failures.of(new IllegalStateException("a bug\nat x")).reason());
        assertEquals("a bug", Failures.firstLine("a bug\nat x"));
    }

    @Test
    void theSupervisorsOwnJvmFailingCostsTheSupervisor() {
        assertEquals(Cost.SUPERVISOR, Failures.of(new OutOfMemoryError("Java heap space")).cost());
        assertEquals("out-of-memory", Failures.of(new OutOfMemoryError("Java heap space")).reason());
        assertEquals(Cost.SUPERVISOR, Failures.of(new StackOverflowError()).cost());
        assertEquals(Cost.SUPERVISOR, Failures.of(new Failures.Broken("fd 0 left on a client", null)).cost());
    }

    @Test
    void anExceptionOnASideThreadCostsThatThreadAndAnErrorAnywhereTheSupervisor() {
        RuntimeException bug = new IllegalStateException("a bug");
        for (String side : List.of("forkserver-metrics", "HTTP-Dispatcher", "forkserver-notify", "SIGHUP handler",
                "SIGUSR1 handler")) {
            org.junit.jupiter.api.Assertions.assertFalse(Failures.endsSupervisor(side, bug), side);
            org.junit.jupiter.api.Assertions.assertTrue(Failures.endsSupervisor(side, new OutOfMemoryError("Java heap space")),
                    side + ": the JVM is in doubt");
        }
        for (String vital : List.of("main", "forkserver-reaper", "forkserver-handoffs", "forkserver-lifetime",
                "forkserver-proxy-headers", "forkserver-proxy-admission", "forkserver-stderr", "forkserver-spares")) {
            org.junit.jupiter.api.Assertions.assertTrue(Failures.endsSupervisor(vital, bug), vital);
        }
    }
}
