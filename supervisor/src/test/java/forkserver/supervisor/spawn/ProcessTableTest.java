package forkserver.supervisor.spawn;

import forkserver.supervisor.OnAThread;
import forkserver.testkit.Await;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One reading of /proc gives every process's descendants. */
class ProcessTableTest {

    @Test
    void findsAChildsWholeTreeAndNothingElse() throws IOException {
        // sh -> sh -> sleep, and a sleep beside: the tree of the outer shell is three deep.
        Process outer = new ProcessBuilder("/bin/sh", "-c", "/bin/sh -c 'sleep 300' & sleep 300 & wait")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            List<Long> expected = Await.value("the tree to be started", Duration.ofSeconds(30), () -> {
                List<Long> all = outer.descendants().map(ProcessHandle::pid).sorted().toList();
                return all.size() == 3 ? all : null;
            });
            ProcessTable table = ProcessTable.read();
            assertEquals(expected, table.descendantsOf(outer.pid()).stream().sorted().toList());
            assertEquals(2, table.childrenOf(outer.pid()).size());
            assertTrue(table.descendantsOf(expected.getFirst() + 1_000_000).isEmpty());
        } finally {
            outer.descendants().forEach(ProcessHandle::destroyForcibly);
            outer.destroyForcibly();
        }
    }

    @Test
    void theCallingThreadsChildrenAreTheOnesItStarted() throws Exception {
        Process mine = new ProcessBuilder("/bin/sleep", "300").start();
        try {
            List<Long> children = ProcessTable.childrenOfThisThread();
            assertTrue(children != null && children.contains(mine.pid()), "children of this thread: " + children);
            List<Long> elsewhere = OnAThread.start(ProcessTable::childrenOfThisThread).get(Duration.ofSeconds(30));
            assertTrue(elsewhere != null && !elsewhere.contains(mine.pid()), "another thread's: " + elsewhere);
        } finally {
            mine.destroyForcibly();
        }
    }
}
