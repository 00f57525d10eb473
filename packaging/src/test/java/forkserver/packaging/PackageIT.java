package forkserver.packaging;

import forkserver.testkit.Activators;
import forkserver.testkit.Await;
import forkserver.testkit.ClientLoops;
import forkserver.testkit.Command;
import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import javax.tools.ToolProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Debian package as an operator meets it: {@code apt-get install ./dist/forkserver_*.deb},
 * the installed commands run with a bare environment (PATH=/usr/bin:/bin, no JAVA_HOME) as root
 * and as {@code nobody}, under systemd's activator, the man pages, the completion and the units;
 * then {@code apt-get purge} leaves no file. Changes the machine (root only), so it runs only
 * when bin/test-package names the package: {@code -Dforkserver.package.deb=dist/...deb}.
 */
@EnabledIfSystemProperty(named = "forkserver.package.deb", matches = ".+")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PackageIT {

    private static final String HOME = "/usr/lib/forkserver";
    private static final String RUNTIME_JAVA = HOME + "/runtime/bin/java";
    private static final String MAVEN_REPO = "/usr/share/maven-repo";
    /** What every installed command runs with: no JAVA_HOME, nothing on PATH but the system's. */
    private static final List<String> BARE = List.of("/usr/bin/env", "-i", "PATH=/usr/bin:/bin");
    private static final List<String> AS_NOBODY = List.of("/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup",
            "--clear-groups");
    private static final List<String> UNITS = List.of("forkserver.socket", "forkserver.service",
            "forkserver-worker.socket", "forkserver-worker@.service");
    private static final Pattern UPGRADE = Pattern.compile("upgrade pid=(\\d+) ");
    private static final Pattern LONG_OPTION = Pattern.compile("--[a-z][a-z0-9-]+");

    /** Every path the package installed, from {@code dpkg -L} right after the install. */
    private List<Path> installed;

    @BeforeAll
    void install() {
        assertEquals("root", System.getProperty("user.name"), "installs a package: run as root (bin/test-package)");
        Path deb = Path.of(System.getProperty("forkserver.package.deb")).toAbsolutePath();
        assertTrue(Files.isRegularFile(deb), deb + " (bin/package makes it)");
        run(List.of("apt-get", "install", "-y", "-q", "--no-install-recommends", deb.toString()), Duration.ofMinutes(5));
        installed = run(List.of("dpkg-query", "--listfiles", "forkserver"), Duration.ofMinutes(1)).stdout().lines()
                .filter(line -> line.startsWith("/")).map(Path::of).toList();
        assertTrue(installed.contains(Path.of("/usr/bin/forkserver")), "dpkg -L forkserver: " + installed);
    }

    /** Whatever happened above, the machine is left without the package. */
    @AfterAll
    void purgeIfStillInstalled() {
        if (isInstalled()) {
            run(List.of("apt-get", "purge", "-y", "-q", "forkserver"), Duration.ofMinutes(5));
        }
    }

    @Test
    @Order(1)
    void versionIsThePomsWithoutAnyJdk() {
        Command.Result version = run(bare("forkserver", "--version"), Duration.ofMinutes(1));
        assertEquals("forkserver " + System.getProperty("forkserver.version") + "\n", version.stdout());
        Command.Result help = run(bare("forkserver-worker", "--help"), Duration.ofMinutes(1), 2);
        assertTrue(help.stderr().contains("not a connected TCP socket"), help.stderr());
    }

    @Test
    @Order(2)
    void echoAsRootOnThePackagesRuntime() {
        echoSession(BARE, "0");
    }

    @Test
    @Order(3)
    void echoAsNobodyOnThePackagesRuntime() {
        List<String> prefix = new ArrayList<>(AS_NOBODY);
        prefix.addAll(BARE);
        echoSession(prefix, "65534");
    }

    @Test
    @Order(4)
    void aSpareUsesItsOwnCacheFromThePackage() {
        try (ServerProcess server = ServerProcess.start(bare("forkserver", "-l", "127.0.0.1:0", "--spares", "1"), Map.of())) {
            InetSocketAddress address = server.awaitListening();
            long spare = Long.parseLong(server.awaitMatch(Pattern.compile("spare-ready pid=(\\d+)")).group(1));
            assertRunsThePackage(spare, "worker/forkserver-spare.aot");
            try (EchoClient client = EchoClient.connect(address)) {
                assertEquals("from a spare", client.roundTrip("from a spare"));
            }
        }
    }

    @Test
    @Order(5)
    void theWorkerUnderSystemdSocketActivation() {
        // Activators passes the test's JAVA_HOME with -E, as a unit's Environment= would: env -i
        // takes it away again, so that the worker finds nothing but the package.
        try (Activators.Started activator = Activators.systemdSocketActivate(List.of("--inetd", "-a"),
                bare("forkserver-worker"), Map.of());
             EchoClient client = EchoClient.connect(activator.address())) {
            assertEquals("hello", client.roundTrip("hello"));
            ProcessHandle java = Await.value("the worker's JVM under " + activator.process().pid(), Await.DEFAULT,
                    () -> activator.process().descendants().stream().filter(p -> exe(p.pid()).equals(RUNTIME_JAVA))
                            .findFirst().orElse(null));
            assertRunsThePackage(java.pid(), "worker/forkserver-worker.aot");
            assertEquals("bye!", client.roundTrip("done"));
        }
    }

    @Test
    @Order(6)
    void theManPagesAreInstalledAndTheSynopsisHasEveryOption() {
        assertEquals("/usr/share/man/man1/forkserver.1.gz\n",
                run(List.of("man", "-w", "forkserver"), Duration.ofMinutes(1)).stdout());
        assertEquals("/usr/share/man/man1/forkserver-worker.1.gz\n",
                run(List.of("man", "-w", "forkserver-worker"), Duration.ofMinutes(1)).stdout());
        String page = run(List.of("/usr/bin/env", "MANWIDTH=100", "man", "-P", "cat", "forkserver"), Duration.ofMinutes(1)).stdout();
        String synopsis = page.substring(page.indexOf("SYNOPSIS"), page.indexOf("DESCRIPTION"));
        String help = run(bare("forkserver", "--help"), Duration.ofMinutes(1)).stdout();
        String usage = help.substring(help.indexOf("Usage: forkserver"));
        for (String option : options(usage.substring(0, usage.indexOf("\n\n")))) {
            assertTrue(synopsis.contains(option), option + " in the man page's synopsis:\n" + synopsis);
        }
    }

    @Test
    @Order(7)
    void bashCompletesTheOptions() {
        Command.Result completion = run(List.of("bash", "-c", "source /usr/share/bash-completion/completions/forkserver"
                + " && COMP_WORDS=(forkserver --max-c) COMP_CWORD=1 && _picocli_forkserver && echo \"${COMPREPLY[@]}\""),
                Duration.ofMinutes(1));
        assertEquals("--max-children\n", completion.stdout(), completion.stderr());
    }

    /**
     * A handler that uses a JDK module the package's runtime was linked without (java.sql): the
     * installed forkserver says so at start-up, in one line naming the module and how to add it,
     * and exits 2 before it serves anything. Compiled against the package's own API jar.
     */
    @Test
    @Order(8)
    void aHandlerNeedingAModuleTheRuntimeLacksIsOneLineAtStartUp() throws IOException {
        Path work = Files.createTempDirectory("forkserver-sql-handler");
        try {
            Path source = work.resolve("src/sqlhandler/UsesSql.java");
            Files.createDirectories(source.getParent());
            Files.writeString(source, """
                    package sqlhandler;
                    public final class UsesSql implements forkserver.handler.Handler {
                        @Override
                        public void serve(forkserver.handler.Connection connection) throws java.io.IOException {
                            connection.out().write(("timeout " + java.sql.DriverManager.getLoginTimeout()).getBytes());
                        }
                    }
                    """);
            String api = MAVEN_REPO + "/io/github/forkserver/forkserver-handler/debian/forkserver-handler-debian.jar";
            Path classes = work.resolve("classes");
            assertEquals(0, ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", classes.toString(),
                    "-cp", api, source.toString()), "javac");
            run(List.of("chmod", "-R", "a+rX", work.toString()), Duration.ofMinutes(1));
            Command.Result start = run(bare("FORKSERVER_WORKER_CLASSPATH=" + classes, "forkserver", "-l", "127.0.0.1:0",
                    "--handler", "sqlhandler.UsesSql"), Duration.ofMinutes(2), 2);
            assertEquals(List.of("forkserver: handler sqlhandler.UsesSql needs java.sql.DriverManager (in UsesSql.class), from"
                    + " the JDK module java.sql, which the worker's Java runtime (" + HOME + "/runtime) does not have;"
                    + " add it with bin/package --add-modules java.sql, or run the worker on a full JDK (see --help)"),
                    start.stderrLines());
            assertEquals("", start.stdout());
        } finally {
            run(List.of("rm", "-rf", work.toString()), Duration.ofMinutes(1));
        }
    }

    /**
     * A handler project (examples/greeter, copied out of the checkout) builds and passes its tests
     * offline with the package's artifacts from /usr/share/maven-repo, as docs/handlers.md says:
     * that folder as a file:// repository, {@code mvn -o -Daether.offline.protocols=file}. Its
     * end-to-end test runs the installed {@code forkserver} (on PATH). The build's plugins come
     * from this build's local repository, offered as a second file:// repository that serves no
     * snapshot, so forkserver's artifacts (a snapshot version) can come from the package only; the
     * resolver's record in the fresh local repository says they did.
     */
    @Test
    @Order(9)
    void aHandlerProjectBuildsOfflineAgainstThePackagesMavenRepository() throws IOException {
        String version = System.getProperty("forkserver.version");
        for (String artifact : List.of("forkserver-handler", "forkserver-handler-testkit")) {
            Path folder = Path.of(MAVEN_REPO, "io/github/forkserver", artifact);
            String pom = read(folder.resolve(version).resolve(artifact + "-" + version + ".pom"));
            assertFalse(pom.contains("<parent>"), artifact + "'s pom is flattened:\n" + pom);
            assertTrue(Files.isRegularFile(folder.resolve(version).resolve(artifact + "-" + version + ".jar")), artifact);
            assertEquals(Path.of("../" + version + "/" + artifact + "-" + version + ".jar"),
                    Files.readSymbolicLink(folder.resolve("debian").resolve(artifact + "-debian.jar")), artifact + " debian");
            assertTrue(read(folder.resolve("debian").resolve(artifact + "-debian.pom")).contains("<version>debian</version>"));
        }
        Path work = Files.createTempDirectory("forkserver-handler-project");
        try {
            Path project = work.resolve("greeter");
            Command.Result copy = run(List.of("cp", "-r", Path.of(System.getProperty("forkserver.home"), "examples", "greeter")
                    .toString(), project.toString()), Duration.ofMinutes(1));
            assertEquals("", copy.stderr());
            Path settings = work.resolve("settings.xml");
            Files.writeString(settings, offlineSettings(Path.of(System.getProperty("forkserver.maven.repo"))));
            Path local = work.resolve("repository");
            Command.Result build = Command.run(List.of("/usr/bin/env", "-i", "PATH=/usr/bin:/bin",
                    "JAVA_HOME=" + System.getProperty("java.home"), "HOME=" + work, "sh", "-c",
                    "cd \"$1\" && exec mvn -B -o -Daether.offline.protocols=file -s \"$2\" -Dmaven.repo.local=\"$3\" verify", "sh",
                    project.toString(), settings.toString(), local.toString()), "", Duration.ofMinutes(10));
            assertFalse(build.killedByWatchdog(), "the offline build did not end in 10 minutes");
            assertEquals(0, build.exitValue(), "mvn -o verify of the greeter:\n" + build.stdout() + build.stderr());
            assertTrue(build.stdout().contains("Tests run:") && build.stdout().contains("GreeterIT"), build.stdout());
            for (String artifact : List.of("forkserver-handler", "forkserver-handler-testkit")) {
                Path resolved = local.resolve("io/github/forkserver").resolve(artifact).resolve(version);
                String origin = read(resolved.resolve("_remote.repositories"));
                assertTrue(origin.contains(artifact + "-" + version + ".jar>debian="),
                        artifact + " came from /usr/share/maven-repo:\n" + origin);
            }
        } finally {
            run(List.of("rm", "-rf", work.toString()), Duration.ofMinutes(1));
        }
    }

    /**
     * The settings a handler author on this host would write (docs/handlers.md), plus the plugins'
     * repository: {@code plugins}, a local repository that has them, read as a file:// repository
     * without its snapshots.
     */
    private static String offlineSettings(Path plugins) {
        String cache = "<url>" + plugins.toUri() + "</url><releases><enabled>true</enabled></releases>"
                + "<snapshots><enabled>false</enabled></snapshots>";
        return """
                <settings>
                  <profiles>
                    <profile>
                      <id>debian</id>
                      <repositories>
                        <repository>
                          <id>debian</id>
                          <url>file:///usr/share/maven-repo</url>
                          <snapshots><enabled>true</enabled></snapshots>
                        </repository>
                        <repository><id>plugins</id>%1$s</repository>
                      </repositories>
                      <pluginRepositories>
                        <pluginRepository><id>plugins</id>%1$s</pluginRepository>
                      </pluginRepositories>
                    </profile>
                  </profiles>
                  <activeProfiles><activeProfile>debian</activeProfile></activeProfiles>
                </settings>
                """.formatted(cache);
    }

    @Test
    @Order(10)
    void theInstalledUnitsPassSystemdAnalyzeVerify() {
        List<String> command = new ArrayList<>(List.of("systemd-analyze", "verify"));
        UNITS.forEach(unit -> command.add("/lib/systemd/system/" + unit));
        Command.Result verify = run(command, Duration.ofMinutes(2));
        assertEquals("", verify.stdout() + verify.stderr(), "no warning");
        for (String unit : UNITS) {
            String text = read(Path.of("/lib/systemd/system", unit));
            assertFalse(text.contains("/opt/forkserver/") || text.contains("JAVA_HOME"), unit + ":\n" + text);
        }
    }

    /**
     * {@code apt-get install ./NEXT.deb} (the same tree, a higher version: bin/test-package makes
     * it) under a running supervisor, as the package runs it, with sessions held and a client loop
     * connecting throughout. Without a running systemd postinst signals nobody (it reaches the
     * supervisor through {@code systemctl kill}, for the unit's main process only), so the test
     * sends SIGUSR2 as an operator would: the held sessions keep echoing from the old process,
     * which maps the replaced files ({@code (deleted)}), new clients reach a successor running the
     * new files, and the old process exits once its sessions end.
     */
    @Test
    @Order(11)
    void anUpgradeOfThePackageKeepsTheSessionsAndTheNewVersionServes() throws Exception {
        Path next = Path.of(System.getProperty("forkserver.package.next", "")).toAbsolutePath();
        assertTrue(Files.isRegularFile(next), next + " (bin/test-package makes it)");
        String cache = HOME + "/supervisor/forkserver-supervisor.aot";
        long successor;
        try (ServerProcess old = ServerProcess.start(bare("forkserver", "-l", "127.0.0.1:0"), Map.of())) {
            InetSocketAddress address = old.awaitListening();
            List<EchoClient> held = new ArrayList<>();
            try (ClientLoops loops = new ClientLoops(List.of(new ClientLoops.Target(address, null)))) {
                for (int i = 0; i < 3; i++) {
                    held.add(EchoClient.connect(address));
                    assertEquals("held " + i, held.get(i).roundTrip("held " + i));
                }
                loops.awaitSessions(20);

                run(List.of("apt-get", "install", "-y", "-q", "--no-install-recommends", next.toString()), Duration.ofMinutes(5));
                assertEquals(dpkgVersion(next), run(List.of("dpkg-query", "--show", "--showformat=${Version}", "forkserver"),
                        Duration.ofMinutes(1)).stdout(), "the second version is installed");
                assertTrue(maps(old.pid()).contains(cache + " (deleted)"), "the old supervisor runs the replaced files");
                assertEquals(List.of(), old.matches(UPGRADE), "no systemd: postinst signalled nobody");

                int atSignal = loops.sessions();
                old.signal("USR2"); // what postinst's systemctl kill does under systemd
                successor = Long.parseLong(old.awaitMatch(UPGRADE).group(1));
                old.descendants(); // close() kills the successor too, once it is no child of the old one
                loops.awaitSessions(atSignal + 100);
                loops.stop();
                assertEquals(List.of(), loops.failures(), "every client served through the install and the hand-over");
                loops.report("package upgrade", atSignal, "SIGUSR2");

                assertRunsThePackage(successor, "supervisor/forkserver-supervisor.aot");
                assertFalse(maps(successor).contains("(deleted)"), "the successor runs the new version's files");
                for (int i = 0; i < held.size(); i++) {
                    assertEquals("again " + i, held.get(i).roundTrip("again " + i), "a held session, still the old one's");
                }
                assertTrue(old.isAlive(), "the old supervisor waits for its sessions");
                for (EchoClient client : held) {
                    assertEquals("bye!", client.roundTrip("done"));
                }
            } finally {
                held.forEach(EchoClient::close);
            }
            assertEquals(0, old.awaitExitOfThisProcess(Await.DEFAULT), "the old supervisor exits once its sessions end");
            // Hundreds of sessions ran above: this client's port may have served one of them.
            int logged = old.lines();
            try (EchoClient client = EchoClient.connect(address)) {
                assertEquals("new version", client.roundTrip("new version"));
                assertRunsThePackage(old.awaitChildPidOf(client.localPort(), logged), "worker/forkserver-worker.aot");
            }
            // The successor is no child of the old one (which has exited): stopped as systemd would,
            // with SIGTERM, so that it drains and removes its boxes; a SIGKILL at close() would leave them.
            ProcessHandle successorProcess = ProcessHandle.of(successor).orElseThrow();
            successorProcess.destroy();
            successorProcess.onExit().get(60, java.util.concurrent.TimeUnit.SECONDS);
            try (Stream<Path> boxes = Files.find(Path.of("/sys/fs/cgroup"), 4,
                    (path, attributes) -> path.getFileName().toString().startsWith("box-" + successor + "-"))) {
                assertEquals(List.of(), boxes.toList(), "the successor removed its boxes at stop");
            }
        }
    }

    /** Last: nothing was written under the tree while it ran, and purge takes every file away. */
    @Test
    @Order(12)
    void purgeLeavesNoFile() {
        assertEquals("", run(List.of("dpkg", "--verify", "forkserver"), Duration.ofMinutes(2)).stdout(),
                "no installed file changed");
        try (Stream<Path> tree = Files.walk(Path.of(HOME))) {
            List<Path> extra = tree.filter(path -> !installed.contains(path)).toList();
            assertEquals(List.of(), extra, "files the package did not install appeared under " + HOME);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // The administrator enabled the socket: its link goes with the purge.
        run(List.of("systemctl", "enable", "forkserver.socket"), Duration.ofMinutes(1));
        Path link = Path.of("/etc/systemd/system/sockets.target.wants/forkserver.socket");
        assertTrue(Files.isSymbolicLink(link), link.toString());

        run(List.of("apt-get", "purge", "-y", "-q", "forkserver"), Duration.ofMinutes(5));
        assertFalse(isInstalled(), "dpkg still knows forkserver");
        List<Path> left = new ArrayList<>(installed.stream()
                .filter(path -> Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                .filter(path -> !Files.isDirectory(path) || path.toString().contains("forkserver")).toList());
        if (Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            left.add(link);
        }
        assertEquals(List.of(), left, "left behind by apt-get purge");
    }

    /**
     * {@code PREFIX forkserver -l 127.0.0.1:0} and one echo session; while it is open, the
     * supervisor and its worker both run the package's java as {@code uid}, each with its AOT
     * cache.
     */
    private static void echoSession(List<String> prefix, String uid) {
        List<String> command = new ArrayList<>(prefix);
        command.addAll(List.of("forkserver", "-l", "127.0.0.1:0"));
        try (ServerProcess server = ServerProcess.start(command, Map.of());
             EchoClient client = EchoClient.connect(server.awaitListening())) {
            assertEquals("hello", client.roundTrip("hello"));
            long worker = server.awaitChildPidOf(client.localPort());
            assertRunsThePackage(server.pid(), "supervisor/forkserver-supervisor.aot");
            assertRunsThePackage(worker, "worker/forkserver-worker.aot");
            assertEquals(uid, uid(server.pid()), "the supervisor's uid");
            assertEquals(uid, uid(worker), "the worker's uid");
            assertEquals("bye!", client.roundTrip("done"));
        }
    }

    /** The process runs the package's java and has the package's AOT cache HOME/{@code cache} mapped. */
    private static void assertRunsThePackage(long pid, String cache) {
        assertEquals(RUNTIME_JAVA, exe(pid), "process " + pid + "'s executable");
        String maps = read(Path.of("/proc", Long.toString(pid), "maps"));
        assertTrue(maps.contains(HOME + "/" + cache), "process " + pid + " maps " + cache + ":\n" + maps);
        assertFalse(maps.contains("/usr/lib/jvm/"), "process " + pid + " maps nothing of /usr/lib/jvm");
    }

    private static String maps(long pid) {
        return read(Path.of("/proc", Long.toString(pid), "maps"));
    }

    private static String dpkgVersion(Path deb) {
        return run(List.of("dpkg-deb", "--field", deb.toString(), "Version"), Duration.ofMinutes(1)).stdout().strip();
    }

    private static String exe(long pid) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "exe")).toString();
        } catch (IOException e) {
            return "(gone: " + e.getMessage() + ")";
        }
    }

    /** The process's real uid (the Uid: line of /proc/PID/status). */
    private static String uid(long pid) {
        return read(Path.of("/proc", Long.toString(pid), "status")).lines()
                .filter(line -> line.startsWith("Uid:")).findFirst().orElseThrow().split("\\s+")[1];
    }

    private static TreeSet<String> options(String text) {
        TreeSet<String> options = new TreeSet<>();
        Matcher m = LONG_OPTION.matcher(text);
        while (m.find()) {
            options.add(m.group());
        }
        assertTrue(options.size() > 15, "the options in " + text);
        return options;
    }

    private static List<String> bare(String... command) {
        List<String> line = new ArrayList<>(BARE);
        line.addAll(List.of(command));
        return line;
    }

    private static boolean isInstalled() {
        Command.Result status = Command.run(List.of("dpkg-query", "--show", "--showformat=${db:Status-Status}", "forkserver"),
                "", Duration.ofMinutes(1));
        return status.exitValue() == 0 && status.stdout().equals("installed");
    }

    private static Command.Result run(List<String> command, Duration timeout) {
        return run(command, timeout, 0);
    }

    private static Command.Result run(List<String> command, Duration timeout, int exit) {
        Command.Result result = Command.run(command, "", timeout, Map.of("DEBIAN_FRONTEND", "noninteractive"));
        assertFalse(result.killedByWatchdog(), command + " did not finish in " + timeout);
        assertEquals(exit, result.exitValue(), command + ":\n" + result.stdout() + result.stderr());
        return result;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
