package forkserver.worker;

import java.io.IOException;
import java.io.InputStream;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.constantpool.ClassEntry;
import java.lang.classfile.constantpool.NameAndTypeEntry;
import java.lang.classfile.constantpool.PoolEntry;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Why a handler cannot run on this worker's Java runtime, said in one line: a class file newer
 * than the runtime reads, or a class of a JDK module the runtime does not have (the Debian
 * package's runtime holds a few modules only: {@code bin/package --add-modules} adds more).
 *
 * <p>Loading the handler class finds such a problem only in the class itself and its supertypes;
 * a JDK class used inside {@code serve} is resolved when that line first runs, on a client's
 * connection. So the supervisor's start-up check ({@code Launcher --check}) also reads the class
 * files of the handler's own package (the handler's jar or folder, that package only: libraries
 * refer to optional modules on paths never taken) and names what they use that is missing.
 *
 * <p>Which module a package belongs to, when the runtime does not have that module, is in the
 * file {@value #ABSENT_PACKAGES} of the runtime ({@code java.home}), written by {@code bin/package}
 * from the JDK it links the runtime from ({@code packaging/AbsentPackages.java}): one
 * "PACKAGE MODULE" line for each package of each module left out. Without it (a full JDK) a
 * missing {@code java.*} class is still found, without the module's name.
 *
 * <p>Not on a connection's path: only the check and the failure paths load this class.
 */
final class HandlerCheck {

    /** In the runtime's {@code java.home}: the packages of the JDK modules it was linked without. */
    static final String ABSENT_PACKAGES = "lib/forkserver-absent-packages";
    /** Types inside field and method descriptors ({@code (Ljava/sql/Connection;)V}). */
    private static final Pattern DESCRIPTOR_TYPE = Pattern.compile("L([^;()\\[]+);");

    private HandlerCheck() {
    }

    /**
     * The one line for a handler that failed to load, or to run, with {@code e}: a class file too
     * new, a JDK class the runtime lacks, a class missing from the class path; null for anything
     * else (the caller says what it says).
     */
    static String whyNotLoaded(String name, LinkageError e, ClassLoader loader) {
        if (e instanceof UnsupportedClassVersionError) {
            return newerClassFile(name, classFileVersion(loader, name.replace('.', '/') + ".class"));
        }
        if (e instanceof NoClassDefFoundError && e.getMessage() != null) {
            String missing = e.getMessage().replace('/', '.');
            String module = absentModule(packageOf(missing));
            if (module != null || missing.startsWith("java.")) {
                return needsModule(name, missing, module);
            }
            if (!missing.equals(name)) {
                return "handler " + name + " needs the class " + missing + ", which is not on the worker's class path"
                        + " (FORKSERVER_WORKER_CLASSPATH=" + System.getenv().getOrDefault("FORKSERVER_WORKER_CLASSPATH", "")
                        + "): add the jar that has it";
            }
        }
        return null;
    }

    /**
     * Reads the class files of {@code handler}'s package, where it was loaded from, and returns
     * the first problem as one line (null when there is none): a class file newer than this
     * runtime reads, or a JDK class the runtime does not have.
     */
    static String scan(Class<?> handler) {
        CodeSource source = handler.getProtectionDomain().getCodeSource();
        if (source == null || source.getLocation() == null || !"file".equals(source.getLocation().getProtocol())) {
            return null;
        }
        Map<String, byte[]> classes;
        String folder = handler.getPackageName().replace('.', '/');
        try {
            Path location = Path.of(source.getLocation().toURI());
            classes = Files.isDirectory(location) ? classesIn(location.resolve(folder)) : classesInJar(location, folder);
        } catch (IOException | URISyntaxException | RuntimeException e) {
            return null; // unreadable here: the class loaded, and serve will say what fails
        }
        ClassLoader loader = handler.getClassLoader();
        int latest = ClassFile.latestMajorVersion();
        for (Map.Entry<String, byte[]> entry : classes.entrySet()) {
            int version = majorVersion(entry.getValue());
            if (version > latest) {
                return newerClassFile(entry.getKey(), version);
            }
        }
        for (Map.Entry<String, byte[]> entry : classes.entrySet()) {
            for (String used : referencedClasses(entry.getValue())) {
                String type = used.replace('/', '.');
                String module = absentModule(packageOf(type));
                if ((module != null || type.startsWith("java.")) && loader.getResource(used + ".class") == null) {
                    return needsModule(handler.getName(), type + " (in " + entry.getKey() + ")", module);
                }
            }
        }
        return null;
    }

    private static String newerClassFile(String name, int version) {
        int runtime = Runtime.version().feature();
        String found = version > 0 ? "class file version " + version + " (Java " + (version - 44) + ")"
                : "a newer class file version";
        return "handler " + name + " is compiled for a newer Java than this worker's runtime: " + found
                + ", and the runtime is Java " + runtime + " (up to class file version "
                + ClassFile.latestMajorVersion() + "); compile it with --release " + runtime
                + " (maven.compiler.release), or run the worker on a newer JDK";
    }

    private static String needsModule(String name, String missing, String module) {
        String runtime = System.getProperty("java.home");
        if (module == null) {
            return "handler " + name + " needs " + missing + ", which the worker's Java runtime (" + runtime
                    + ") does not have; run the worker on a JDK that has it";
        }
        return "handler " + name + " needs " + missing + ", from the JDK module " + module
                + ", which the worker's Java runtime (" + runtime + ") does not have; add it with bin/package --add-modules "
                + module + ", or run the worker on a full JDK";
    }

    /** The module that has {@code packageName}, from the runtime's list of what it was linked without. */
    static String absentModule(String packageName) {
        return AbsentPackages.MODULES.get(packageName);
    }

    /** The runtime's list, read once (a class file names many classes). */
    private static final class AbsentPackages {
        static final Map<String, String> MODULES = read();

        private static Map<String, String> read() {
            Map<String, String> modules = new HashMap<>();
            try (Stream<String> lines = Files.lines(Path.of(System.getProperty("java.home"), ABSENT_PACKAGES))) {
                lines.map(line -> line.split(" ")).filter(words -> words.length == 2)
                        .forEach(words -> modules.put(words[0], words[1]));
            } catch (IOException | RuntimeException e) {
                // a full JDK has no such list: nothing is absent that a list could name
            }
            return modules;
        }
    }

    private static String packageOf(String className) {
        int dot = className.lastIndexOf('.');
        return dot < 0 ? "" : className.substring(0, dot);
    }

    /** Every class a class file names: its constant pool's classes and the types in its descriptors. */
    static TreeSet<String> referencedClasses(byte[] classFile) {
        TreeSet<String> used = new TreeSet<>();
        ClassModel model = ClassFile.of().parse(classFile);
        List<String> descriptors = new ArrayList<>();
        for (PoolEntry entry : model.constantPool()) {
            if (entry instanceof ClassEntry type) {
                String name = type.asInternalName();
                if (name.startsWith("[")) {
                    descriptors.add(name);
                } else {
                    used.add(name);
                }
            } else if (entry instanceof NameAndTypeEntry member) {
                descriptors.add(member.type().stringValue());
            }
        }
        model.fields().forEach(field -> descriptors.add(field.fieldType().stringValue()));
        model.methods().forEach(method -> descriptors.add(method.methodType().stringValue()));
        for (String descriptor : descriptors) {
            Matcher m = DESCRIPTOR_TYPE.matcher(descriptor);
            while (m.find()) {
                used.add(m.group(1));
            }
        }
        return used;
    }

    private static int majorVersion(byte[] classFile) {
        return classFile.length < 8 ? 0 : ((classFile[6] & 0xff) << 8) | (classFile[7] & 0xff);
    }

    private static int classFileVersion(ClassLoader loader, String resource) {
        try (InputStream in = loader.getResourceAsStream(resource)) {
            return in == null ? 0 : majorVersion(in.readNBytes(8));
        } catch (IOException e) {
            return 0;
        }
    }

    private static Map<String, byte[]> classesIn(Path folder) throws IOException {
        Map<String, byte[]> classes = new HashMap<>();
        if (!Files.isDirectory(folder)) {
            return classes;
        }
        try (Stream<Path> files = Files.list(folder)) {
            for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".class")).toList()) {
                classes.put(file.getFileName().toString(), Files.readAllBytes(file));
            }
        }
        return classes;
    }

    private static Map<String, byte[]> classesInJar(Path jar, String folder) throws IOException {
        Map<String, byte[]> classes = new HashMap<>();
        String prefix = folder.isEmpty() ? "" : folder + "/";
        try (JarFile file = new JarFile(jar.toFile())) {
            for (var entry : file.stream().toList()) {
                String name = entry.getName();
                if (name.startsWith(prefix) && name.endsWith(".class") && name.indexOf('/', prefix.length()) < 0) {
                    try (InputStream in = file.getInputStream(entry)) {
                        classes.put(name.substring(prefix.length()), in.readAllBytes());
                    }
                }
            }
        }
        return classes;
    }
}
