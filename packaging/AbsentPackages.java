import java.io.IOException;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * {@code java AbsentPackages.java RUNTIME}: for the jlinked RUNTIME, writes RUNTIME/lib/forkserver-absent-packages,
 * one "PACKAGE MODULE" line for every exported package of every module of this JDK (the one that
 * runs this file, which jlink made RUNTIME from) that RUNTIME was linked without. The worker reads
 * it to name the module a handler needs and the runtime lacks (forkserver.worker.HandlerCheck);
 * bin/package runs it, and so does the worker's test of that message.
 */
public final class AbsentPackages {
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: java AbsentPackages.java RUNTIME");
            System.exit(2);
        }
        Path runtime = Path.of(args[0]);
        // The runtime's release file lists its modules: MODULES="java.base jdk.unsupported ...".
        String line = Files.readAllLines(runtime.resolve("release")).stream().filter(l -> l.startsWith("MODULES="))
                .findFirst().orElseThrow(() -> new IllegalArgumentException(runtime + "/release has no MODULES line"));
        Set<String> linked = Arrays.stream(line.substring("MODULES=".length()).replace("\"", "").split(" "))
                .collect(Collectors.toSet());
        TreeSet<String> lines = new TreeSet<>();
        for (var module : ModuleFinder.ofSystem().findAll()) {
            ModuleDescriptor descriptor = module.descriptor();
            if (!linked.contains(descriptor.name())) {
                descriptor.exports().stream().filter(e -> !e.isQualified())
                        .forEach(e -> lines.add(e.source() + " " + descriptor.name()));
            }
        }
        Files.write(runtime.resolve("lib/forkserver-absent-packages"), lines);
    }
}
