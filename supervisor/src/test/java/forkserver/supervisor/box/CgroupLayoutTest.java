package forkserver.supervisor.box;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a host offers, read from /proc/self/cgroup and /proc/self/mountinfo: here of made-up hosts
 * whose cgroup trees are directories in a temporary folder (the real ones are BoxIT's).
 */
class CgroupLayoutTest {

    @TempDir
    Path root;

    @Test
    void pureV2WithDelegation() throws IOException {
        Path service = v2Cgroup("system.slice/forkserver.service", "cpuset cpu io memory pids");
        CgroupLayout layout = CgroupLayout.of("0::/system.slice/forkserver.service\n",
                "30 23 0:26 / " + root.resolve("cg") + " rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
        assertTrue(layout.pureV2());
        assertEquals(service, layout.unified().own());
        assertEquals("connections are boxed: cgroup v2 at " + service + ", memory pids cpu", layout.describe());
        assertTrue(layout.problem(new BoxLimits(MemorySize.parse("64M"), TasksMax.parse("10"), CpuPercent.parse("50%"))).isEmpty());
    }

    @Test
    void pureV2WithoutTheController() throws IOException {
        Path service = v2Cgroup("system.slice/forkserver.service", "cpu");
        CgroupLayout layout = CgroupLayout.of("0::/system.slice/forkserver.service\n",
                "30 23 0:26 / " + root.resolve("cg") + " rw - cgroup2 cgroup2 rw\n");
        assertEquals("--child-memory-max needs the memory controller, which the supervisor's cgroup (" + service
                        + ") is not given: run it as a systemd service with Delegate=yes, or enable memory in its parent's"
                        + " cgroup.subtree_control",
                layout.problem(new BoxLimits(MemorySize.parse("64M"), null, CpuPercent.parse("50%"))).orElseThrow());
    }

    @Test
    void hybrid() throws IOException {
        Path memory = v1Cgroup("memory", "process_api/abc");
        Path pids = v1Cgroup("pids", "");
        Path cpu = v1Cgroup("cpu", "");
        v1Cgroup("cpuacct", "");
        Path unified = v2Cgroup("", "hugetlb");
        String mountinfo = """
                32 31 0:29 / %1$s/cpu rw,relatime - cgroup cgroup rw,cpu
                33 31 0:30 / %1$s/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
                35 31 0:32 / %1$s/memory rw,relatime - cgroup cgroup rw,memory
                39 31 0:36 / %1$s/pids rw,relatime - cgroup cgroup rw,pids
                40 31 0:37 / %1$s/systemd rw,relatime - cgroup cgroup rw,name=systemd
                41 31 0:38 / %1$s/cg rw,relatime - cgroup2 cgroup2 rw
                """.formatted(root);
        CgroupLayout layout = CgroupLayout.of("""
                9:name=systemd:/
                8:pids:/
                4:memory:/process_api/abc
                2:cpuacct:/
                1:cpu:/
                0::/
                """, mountinfo);
        assertFalse(layout.pureV2());
        assertEquals(memory, layout.hierarchyOf(CgroupLayout.Controller.MEMORY).own());
        assertEquals(pids, layout.hierarchyOf(CgroupLayout.Controller.PIDS).own());
        assertEquals(cpu, layout.hierarchyOf(CgroupLayout.Controller.CPU).own());
        assertNull(layout.hierarchyOf(CgroupLayout.Controller.CPUACCT), "v2's cpu.stat stands in for cpuacct");
        assertEquals(unified, layout.unified().own());
        String line = layout.describe();
        assertTrue(line.startsWith("connections are boxed: hybrid cgroups: memory at " + memory + ", pids at " + pids
                + ", cpu at " + cpu + "; cgroup v2 at " + unified + " ("), line);
    }

    @Test
    void coMountedAndSubtreeMounts() throws IOException {
        // cpu and cpuacct on one hierarchy; a container that sees its own subtree (root /docker/x) at the mount point.
        Path both = v1Cgroup("cpu,cpuacct", "");
        Path memory = v1Cgroup("memory", "");
        String mountinfo = """
                32 31 0:29 / %1$s/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
                35 31 0:32 /docker/x %1$s/memory rw - cgroup cgroup rw,memory
                """.formatted(root);
        CgroupLayout layout = CgroupLayout.of("3:cpu,cpuacct:/\n4:memory:/docker/x\n", mountinfo);
        assertEquals(both, layout.hierarchyOf(CgroupLayout.Controller.CPU).own());
        assertEquals(both, layout.hierarchyOf(CgroupLayout.Controller.CPUACCT).own());
        assertEquals(memory, layout.hierarchyOf(CgroupLayout.Controller.MEMORY).own());
        assertTrue(layout.describe().startsWith("connections are boxed: cgroup v1: "), layout.describe());
        assertTrue(layout.describe().contains("cpu,cpuacct at " + both), layout.describe());
    }

    @Test
    void nothingMounted() {
        CgroupLayout layout = CgroupLayout.of("0::/\n", "22 1 0:21 / /proc rw - proc proc rw\n");
        assertFalse(layout.boxable());
        assertEquals("connections are not boxed: no cgroup hierarchy is mounted where the supervisor can see its own cgroup",
                layout.describe());
        assertEquals("--child-cpu-max needs cgroups, and no cgroup hierarchy is mounted where the supervisor can see its own cgroup",
                layout.problem(new BoxLimits(null, null, CpuPercent.parse("50%"))).orElseThrow());
    }

    @Test
    void mountPointsWithSpaces() {
        CgroupLayout.Mount mount = CgroupLayout.Mount.parseAll("41 31 0:38 / /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw\n").getFirst();
        assertEquals(Path.of("/sys/fs/my cgroup"), mount.mountPoint());
        assertEquals(Path.of("/sys/fs/my cgroup/a/b"), mount.directoryOf("/a/b"));
        CgroupLayout.Mount sub = CgroupLayout.Mount.parseAll("41 31 0:38 /docker/x /cg rw - cgroup2 cgroup2 rw\n").getFirst();
        assertEquals(Path.of("/cg"), sub.directoryOf("/docker/x"));
        assertEquals(Path.of("/cg/y"), sub.directoryOf("/docker/x/y"));
        assertNull(sub.directoryOf("/docker/xy"));
    }

    private Path v2Cgroup(String path, String controllers) throws IOException {
        Path dir = root.resolve("cg").resolve(path);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("cgroup.controllers"), controllers + "\n");
        Files.writeString(dir.resolve("cgroup.procs"), "");
        return dir;
    }

    private Path v1Cgroup(String hierarchy, String path) throws IOException {
        Path dir = root.resolve(hierarchy).resolve(path);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("cgroup.procs"), "");
        return dir;
    }
}
