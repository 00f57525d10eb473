import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * bin/bench-child-users [ROUNDS]: what {@code --child-user-range} costs a connection. Four
 * supervisors run side by side (as root, boxed, so that each end line carries the connection's
 * CPU): the native echo ({@code --stdio inout -- bench-echo}) and forkserver's worker, each
 * without and with a range. Each round runs one echo session against each, in turn (the order
 * rotating), one at a time: connect, a line, its echo (the first echo: from connect to the echo
 * back), {@code done}, {@code bye!}, end of file. Medians (and 90th percentiles) of the first echo
 * and of the CPU the connection's box used, as Markdown on stdout.
 */
public final class ChildUserBench {

    private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern END_CPU = Pattern.compile("^forkserver: end pid=\\d+ status=0 .*cpu=([0-9.]+)s");

    private record Setup(String name, List<String> args) {
    }

    private static final class Server {
        final Setup setup;
        final Process process;
        final List<String> lines = new CopyOnWriteArrayList<>();
        final List<Long> firstEchoNanos = new ArrayList<>();
        int port;

        Server(Setup setup, Process process) {
            this.setup = setup;
            this.process = process;
            Thread.ofPlatform().daemon().start(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        lines.add(line);
                    }
                } catch (IOException e) {
                    // gone
                }
            });
        }

        List<Double> cpuMicros() {
            List<Double> cpu = new ArrayList<>();
            for (String line : lines) {
                Matcher m = END_CPU.matcher(line);
                if (m.find()) {
                    cpu.add(Double.parseDouble(m.group(1)) * 1e6);
                }
            }
            return cpu;
        }
    }

    public static void main(String[] args) throws Exception {
        Path home = Path.of(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 40;
        String range = "300000-300099";
        loadBefore = Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        Path work = Files.createTempDirectory("forkserver-bench-uid");
        Path echo = work.resolve("bench-echo");
        Process cc = new ProcessBuilder("cc", "-O2", "-o", echo.toString(), home.resolve("bench/src/main/c/echo.c").toString())
                .inheritIO().start();
        if (!cc.waitFor(60, TimeUnit.SECONDS) || cc.exitValue() != 0) {
            throw new IllegalStateException("cc failed on echo.c");
        }
        Files.setPosixFilePermissions(work, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        List<Setup> setups = List.of(
                new Setup("native", List.of("--stdio", "inout", "--", echo.toString())),
                new Setup("native, range", List.of("--child-user-range", range, "--stdio", "inout", "--", echo.toString())),
                new Setup("worker", List.of()),
                new Setup("worker, range", List.of("--child-user-range", range)));
        List<Server> servers = new ArrayList<>();
        try {
            for (Setup setup : setups) {
                List<String> command = new ArrayList<>(List.of(home.resolve("bin/supervisor").toString(), "--listen",
                        "127.0.0.1:0"));
                command.addAll(setup.args());
                servers.add(new Server(setup, new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).start()));
            }
            for (Server server : servers) {
                server.port = awaitPort(server);
                session(server, false); // warm-up: the page cache, the JVM's first class loading
            }
            for (int round = 0; round < rounds; round++) {
                for (int i = 0; i < servers.size(); i++) {
                    Server server = servers.get((round + i) % servers.size());
                    server.firstEchoNanos.add(session(server, true));
                }
            }
            for (Server server : servers) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (server.cpuMicros().size() < rounds + 1 && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
            }
            report(servers, rounds, range);
            step(rounds * 5);
        } finally {
            for (Server server : servers) {
                server.process.destroy();
            }
            for (Server server : servers) {
                if (!server.process.waitFor(30, TimeUnit.SECONDS)) {
                    server.process.destroyForcibly();
                }
            }
            Files.deleteIfExists(echo);
            Files.deleteIfExists(work);
        }
    }

    private static int awaitPort(Server server) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            for (String line : server.lines) {
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    return Integer.parseInt(m.group(1));
                }
            }
            if (!server.process.isAlive()) {
                throw new IllegalStateException(server.setup.name() + " exited: " + server.lines);
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException(server.setup.name() + " did not listen: " + server.lines);
    }

    /** One echo session, checked; the nanoseconds from connect to the first echo. */
    private static long session(Server server, boolean timed) throws IOException {
        long start = System.nanoTime();
        try (Socket socket = new Socket()) {
            socket.setSoTimeout(30_000);
            socket.connect(new InetSocketAddress("127.0.0.1", server.port), 30_000);
            OutputStream out = socket.getOutputStream();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
            out.write("hello\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String echoed = in.readLine();
            long firstEcho = System.nanoTime() - start;
            out.write("done\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String bye = in.readLine();
            String end = in.readLine();
            if (!"hello".equals(echoed) || !"bye!".equals(bye) || end != null) {
                throw new IllegalStateException(server.setup.name() + ": session said " + echoed + " / " + bye + " / " + end);
            }
            return firstEcho;
        }
    }

    private static String loadBefore = "?";

    private static void report(List<Server> servers, int rounds, String range) {
        System.out.println("# --child-user-range: cost per connection");
        System.out.println();
        System.out.println("`bin/bench-child-users " + rounds + "`, " + Instant.now() + ", "
                + Runtime.getRuntime().availableProcessors() + " cores, Linux " + System.getProperty("os.version") + ", "
                + rounds + " sessions each, interleaved; range " + range + "; load average before: " + loadBefore);
        System.out.println();
        System.out.println("| setup | first echo, median (p90) | CPU per session (its box), median (p90) |");
        System.out.println("|---|---|---|");
        double[] firstEcho = new double[servers.size()];
        double[] cpu = new double[servers.size()];
        for (int i = 0; i < servers.size(); i++) {
            Server server = servers.get(i);
            List<Double> echo = server.firstEchoNanos.stream().map(n -> n / 1000.0).toList();
            List<Double> cpuMicros = server.cpuMicros();
            cpuMicros = cpuMicros.subList(Math.min(1, cpuMicros.size()), cpuMicros.size()); // not the warm-up
            firstEcho[i] = percentile(echo, 50);
            cpu[i] = percentile(cpuMicros, 50);
            System.out.printf("| %s | %s (%s) | %s (%s) |%n", server.setup.name(), ms(firstEcho[i]), ms(percentile(echo, 90)),
                    ms(cpu[i]), ms(percentile(cpuMicros, 90)));
        }
        System.out.println();
        for (int i = 0; i + 1 < servers.size(); i += 2) {
            System.out.printf("%s: the range adds %s to the first echo (x%.2f) and %s of CPU (x%.2f)%n",
                    servers.get(i).setup.name(), ms(firstEcho[i + 1] - firstEcho[i]), firstEcho[i + 1] / firstEcho[i],
                    ms(cpu[i + 1] - cpu[i]), cpu[i + 1] / cpu[i]);
        }
    }

    /**
     * The uid step alone: {@code /bin/true} started and waited for as the supervisor starts a
     * child (ProcessBuilder), directly and behind setpriv, interleaved; median wall time.
     */
    private static void step(int starts) throws IOException, InterruptedException {
        List<List<String>> commands = List.of(List.of("/bin/true"),
                List.of("/usr/bin/setpriv", "--reuid=300050", "--regid=300050", "--clear-groups", "--inh-caps=-all", "--",
                        "/bin/true"));
        List<List<Double>> micros = List.of(new ArrayList<>(), new ArrayList<>());
        for (int i = 0; i < starts; i++) {
            for (int c = 0; c < commands.size(); c++) {
                long start = System.nanoTime();
                Process process = new ProcessBuilder(commands.get(c)).start();
                if (process.waitFor() != 0) {
                    throw new IllegalStateException(commands.get(c) + " failed");
                }
                micros.get(c).add((System.nanoTime() - start) / 1000.0);
            }
        }
        double direct = percentile(micros.get(0), 50);
        double stepped = percentile(micros.get(1), 50);
        double[] cpu = {loopCpuMicros(commands.get(0), starts), loopCpuMicros(commands.get(1), starts)};
        System.out.println();
        System.out.printf("The step alone (%d starts each): /bin/true started and waited for %s, behind setpriv %s (median"
                + " wall, interleaved): %s per connection; CPU per start (a shell loop under /usr/bin/time) %s and %s: %s%n",
                starts, ms(direct), ms(stepped), ms(stepped - direct), ms(cpu[0]), ms(cpu[1]), ms(cpu[1] - cpu[0]));
    }

    /** The user and system CPU, per run, of {@code command} run {@code runs} times by a shell loop, as /usr/bin/time says. */
    private static double loopCpuMicros(List<String> command, int runs) throws IOException, InterruptedException {
        String loop = "i=0; while [ $i -lt " + runs + " ]; do " + String.join(" ", command) + "; i=$((i+1)); done";
        Process process = new ProcessBuilder("/usr/bin/time", "-f", "%U %S", "/bin/sh", "-c", loop).start();
        String[] times = new String(process.getErrorStream().readAllBytes(), StandardCharsets.US_ASCII).trim().split("\\s+");
        if (process.waitFor() != 0 || times.length != 2) {
            throw new IllegalStateException("/usr/bin/time said " + String.join(" ", times));
        }
        return (Double.parseDouble(times[0]) + Double.parseDouble(times[1])) * 1e6 / runs;
    }

    private static String ms(double micros) {
        return String.format("%.2f ms", micros / 1000);
    }

    private static double percentile(List<Double> values, int p) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
    }
}
