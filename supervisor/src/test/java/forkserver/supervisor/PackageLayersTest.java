package forkserver.supervisor;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The supervisor's packages stand in layers (docs/architecture.md): read from the compiled
 * classes with the JDK's {@code jdeps}, so that only what the code really uses counts (an import
 * for a javadoc link does not). No package cycle; each listed package imports only those below
 * it; {@code base} imports no other package of the supervisor.
 */
class PackageLayersTest {

    private static final String ROOT = "forkserver.supervisor";

    /**
     * The layers, bottom first; a package may use those of lower layers only. A package not
     * listed (a new stage) is held to "no cycle" until it is placed here.
     */
    private static final List<Set<String>> LAYERS = List.of(
            Set.of("base", "box"),
            Set.of("log"),
            Set.of("listen", "admit", "spawn", "systemd", "metrics"),
            Set.of("proxy", "reap"),
            Set.of("spares"),
            Set.of(""));

    // jdeps -verbose:package: "   forkserver.supervisor.reap   -> forkserver.supervisor.log   classes"
    private static final Pattern EDGE = Pattern.compile("^\\s+(\\S+)\\s+->\\s+(\\S+)\\s");

    @Test
    void thePackagesFormNoCycle() throws Exception {
        Map<String, Set<String>> uses = packageGraph();
        assertTrue(uses.containsKey(ROOT + ".base"), "jdeps saw the classes: " + uses.keySet());
        List<List<String>> cycles = cycles(uses);
        assertEquals(List.of(), cycles, "package cycles in the compiled supervisor: " + cycles + "\nall uses: " + uses);
    }

    @Test
    void eachPackageUsesOnlyTheLayersBelowIt() throws Exception {
        Map<String, Set<String>> uses = packageGraph();
        List<String> upward = new ArrayList<>();
        uses.forEach((from, targets) -> {
            int fromLayer = layer(from);
            for (String to : targets) {
                int toLayer = layer(to);
                if (fromLayer >= 0 && toLayer >= 0 && toLayer >= fromLayer && !from.equals(to)) {
                    upward.add(from + " -> " + to);
                }
            }
        });
        assertEquals(List.of(), upward, "uses that do not go down a layer");
        assertEquals(Set.of(), uses.getOrDefault(ROOT + ".base", Set.of()), "base is a leaf");
        assertEquals(Set.of(), uses.getOrDefault(ROOT + ".box", Set.of()), "box is a leaf");
    }

    private static int layer(String pkg) {
        String name = pkg.equals(ROOT) ? "" : pkg.substring(ROOT.length() + 1);
        for (int i = 0; i < LAYERS.size(); i++) {
            if (LAYERS.get(i).contains(name)) {
                return i;
            }
        }
        return -1;
    }

    /** Which supervisor package uses which, from {@code jdeps -verbose:package} over the main classes. */
    static Map<String, Set<String>> packageGraph() throws URISyntaxException {
        Path classes = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow(() -> new AssertionError("no jdeps in this JDK"));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = jdeps.run(new PrintWriter(out), new PrintWriter(err),
                "-verbose:package", "-filter:none", "-e", "forkserver\\.supervisor(\\..*)?", classes.toString());
        assertEquals(0, status, "jdeps: " + err);
        Map<String, Set<String>> uses = new TreeMap<>();
        for (String line : out.toString().split("\n")) {
            Matcher m = EDGE.matcher(line);
            if (m.find() && isOurs(m.group(1))) {
                Set<String> targets = uses.computeIfAbsent(m.group(1), k -> new TreeSet<>());
                if (isOurs(m.group(2)) && !m.group(2).equals(m.group(1))) {
                    targets.add(m.group(2));
                }
            }
        }
        return uses;
    }

    private static boolean isOurs(String pkg) {
        return pkg.equals(ROOT) || pkg.startsWith(ROOT + ".");
    }

    /** Tarjan's strongly connected components with more than one package. */
    static List<List<String>> cycles(Map<String, Set<String>> graph) {
        Map<String, Integer> index = new HashMap<>();
        Map<String, Integer> low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new TreeSet<>();
        List<List<String>> found = new ArrayList<>();
        int[] counter = {0};
        for (String node : graph.keySet()) {
            if (!index.containsKey(node)) {
                connect(node, graph, index, low, stack, onStack, found, counter);
            }
        }
        return found;
    }

    private static void connect(String node, Map<String, Set<String>> graph, Map<String, Integer> index,
                                Map<String, Integer> low, Deque<String> stack, Set<String> onStack,
                                List<List<String>> found, int[] counter) {
        index.put(node, counter[0]);
        low.put(node, counter[0]);
        counter[0]++;
        stack.push(node);
        onStack.add(node);
        for (String next : graph.getOrDefault(node, Set.of())) {
            if (!index.containsKey(next)) {
                connect(next, graph, index, low, stack, onStack, found, counter);
                low.put(node, Math.min(low.get(node), low.get(next)));
            } else if (onStack.contains(next)) {
                low.put(node, Math.min(low.get(node), index.get(next)));
            }
        }
        if (low.get(node).equals(index.get(node))) {
            List<String> component = new ArrayList<>();
            String member;
            do {
                member = stack.pop();
                onStack.remove(member);
                component.add(member);
            } while (!member.equals(node));
            if (component.size() > 1) {
                found.add(component.reversed());
            }
        }
    }

    @Test
    void aCycleIsFound() {
        Map<String, Set<String>> graph = Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"), "d", Set.of("a"));
        List<List<String>> cycles = cycles(graph);
        assertEquals(1, cycles.size(), cycles.toString());
        assertEquals(Set.of("a", "b", "c"), new TreeSet<>(cycles.getFirst()));
        if (!cycles(Map.of("a", Set.of("b"), "b", Set.of())).isEmpty()) {
            fail("a chain is no cycle");
        }
    }
}
