package forkserver.supervisor;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkerHandlerTest {

    private static final List<String> WORKER = List.of("java", "forkserver.worker.Launcher");

    @Test
    void theHandlerAndItsArgumentsFollowTheWorkersCommand() {
        WorkerHandler handler = WorkerHandler.choose("com.example.Http", List.of("--root", "/srv"), true, Map.of());
        assertEquals(List.of("java", "forkserver.worker.Launcher", "com.example.Http", "--root", "/srv"),
                handler.command(WORKER));
    }

    @Test
    void withoutTheOptionTheWorkerReadsTheEnvironmentAndTheCommandIsUnchanged() {
        assertEquals(WORKER, WorkerHandler.choose(null, List.of(), true, Map.of("FORKSERVER_HANDLER", "x.Y"))
                .command(WORKER));
    }

    @Test
    void misusesAreNamed() {
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> WorkerHandler.choose(null, List.of("a"), true, Map.of())).getMessage().contains("--handler-arg needs --handler"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> WorkerHandler.choose("x.Y", List.of(), false, Map.of())).getMessage().contains("--handler needs forkserver's worker"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> WorkerHandler.choose(" ", List.of(), true, Map.of())).getMessage().contains("empty"));
    }

    @Test
    void aCheckThatFailsGivesTheWorkersLastLine() {
        WorkerHandler handler = WorkerHandler.choose("x.Y", List.of(), true, Map.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> handler.checkedCommand(
                List.of("sh", "-c", "echo noise; echo 'forkserver worker: unknown handler x.Y' >&2; exit 2", "sh"), Map.of(), false));
        assertEquals("unknown handler x.Y", e.getMessage());
    }

    @Test
    void echoIsNeverChecked() {
        WorkerHandler handler = WorkerHandler.choose("echo", List.of(), true, Map.of());
        assertEquals(List.of("false", "echo"), handler.checkedCommand(List.of("false"), Map.of(), false));
    }
}
