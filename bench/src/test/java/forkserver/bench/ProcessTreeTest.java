package forkserver.bench;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /proc read as the reports use it: this JVM's own smaps_rollup, and a process that is gone. */
class ProcessTreeTest {

    @Test
    void smapsRollupHasEverySizeInKiBAndNothingOfAGoneProcess() throws Exception {
        Map<String, Long> own = ProcessTree.smapsRollup(ProcessHandle.current().pid());
        assertTrue(own.get("Rss") > 1024, "a JVM holds more than a MiB: " + own);
        assertTrue(own.get("Pss") > 0 && own.get("Pss") <= own.get("Rss"), own.toString());
        assertTrue(own.containsKey("Private_Dirty") && own.containsKey("Private_Clean"), own.toString());
        assertTrue(own.keySet().stream().noneMatch(name -> name.contains(" ") || name.contains("-")),
                "no field from the range's line: " + own.keySet());

        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        assertEquals(Map.of(), ProcessTree.smapsRollup(gone.pid()));
        ProcessTree.Memory memory = ProcessTree.memory(ProcessHandle.current().pid());
        assertTrue(memory.pssKiB() >= own.get("Pss") / 2 && memory.processes() >= 1, memory.toString());
    }
}
