package forkserver.bench;

import forkserver.bench.Model.Family;
import forkserver.worker.EchoHandler;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The bench: picks the models that can run here, measures each in turn, then prints the table
 * and writes the files. Exit status 0 when every model passed, 1 when one failed a session
 * (its row says why), 2 for a usage error.
 */
public final class Bench {

    private static final String HOST = "127.0.0.1";

    private Bench() {
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            err.println("bench: " + e.getMessage());
            return 2;
        }
        if (options.help()) {
            out.print(Options.USAGE);
            return 0;
        }
        if (options.compare() != null) {
            return Compare.run(options.compare().get(0), options.compare().get(1), out, err);
        }
        if (options.readme()) {
            return readme(home(), out, err);
        }
        if (options.list()) {
            Models.ALL.forEach(m -> out.println(m.name() + "\t" + m.description()
                    + (m.requires() == null || onPath(m.requires()) ? "" : " (not here: no " + m.requires() + " on PATH)")));
            Models.ON_REQUEST.forEach(m -> out.println(m.name() + "\t" + m.description() + " (only when named)"));
            return 0;
        }
        Path home = home();
        // --report as the user typed it (relative to where they are); the default inside the project.
        Path outDir = options.report() == null ? home.resolve(Options.DEFAULT_OUT) : options.report().toAbsolutePath();
        Path logs = home.resolve(Options.DEFAULT_OUT).resolve("logs");
        Workload work = options.workload();
        NativeEcho.Program echo = NativeEcho.prepare(home);
        boolean timed = Files.isExecutable(Path.of(TimeReport.PROGRAM));

        List<Model> models = new ArrayList<>();
        List<String> notRun = new ArrayList<>();
        for (Model model : options.chosenModels()) {
            if (model.requires() == null || onPath(model.requires())) {
                models.add(model);
            } else {
                notRun.add(model.name() + " (no " + model.requires() + ")");
            }
        }
        double estimate = models.stream().mapToDouble(work::estimateSeconds).sum()
                + Scale.estimateSeconds(models, work.ladder(), work.scaleRounds(), work.scaleOpenSeconds());
        err.println("bench: " + models.size() + " models, " + work + "; about " + Progress.clock(estimate)
                + " (min:s)" + (options.quick() ? "" : "; --quick takes under 90 s"));
        err.println("bench: native echo program: " + echo.note() + (timed ? "" : "; no " + TimeReport.PROGRAM
                + ": no context switches, no outside check"));

        String command = String.join(" ", Stream.concat(Stream.of("bin/bench"), Stream.of(args)).toList());
        String when = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'"));
        Function<Integer, ServerContext> contexts = contexts(home, echo.command());
        String loadBefore = loadAverage();
        List<Figures> rows;
        Scale.Figures scale = null;
        String scaleFailure = null;
        try (Progress progress = new Progress(err, Boolean.getBoolean("forkserver.bench.terminal"), estimate)) {
            rows = new Measure(models, contexts, work, logs, timed, progress).run();
            List<Model> passing = rows.stream().filter(Figures::ok).map(Figures::model).toList();
            if (!passing.isEmpty() && !work.ladder().isEmpty()) {
                try {
                    scale = new Scale(passing, contexts, work.ladder(), work.scaleRounds(),
                            Scale.Budget.ofThisMachine(work.scaleOpenSeconds()), logs, progress).run();
                } catch (RuntimeException e) { // a server gone mid-way: the rows above still stand
                    scaleFailure = e.getMessage();
                }
            }
        }
        String loadAfter = loadAverage();
        // The reference servers' chart, when there are any (--quick leaves them out).
        boolean references = models.stream().anyMatch(m -> m.family() == Family.REFERENCE);

        String report = "# forkserver bench\n\n"
                + "`" + command + "` on " + when + "; " + machine() + "; " + python() + "; load average " + loadBefore
                + " before, " + loadAfter + " after (1, 5, 15 min; the machine is shared, and other work raises them);"
                + " " + work + "; the models interleaved round by round. Generated by bin/bench: not edited by hand.\n\n"
                + "## Models\n\n"
                + models.stream().map(m -> "- `" + m.label() + "`: " + m.description()).reduce((a, b) -> a + "\n" + b).orElse("")
                + "\n\n![first echo, CPU per session, round trip, sessions per second](models.png)\n\n"
                + Report.table(rows, work) + "\n"
                + Report.legend(work) + "\n"
                + Report.ratios(rows) + "\n\n"
                + Report.outsideCheck(rows) + "\n"
                + (scale != null ? "\n## Scale\n\n![memory per held connection and round trip against connections held](scale.png)\n\n"
                        + Report.scale(scale, models)
                        : scaleFailure != null ? "\nScale: not measured: " + scaleFailure + "\n" : "")
                + "\n## The article's claims\n\n" + Report.conclusions(rows, scale)
                + (references ? "\n## Reference servers\n\n![tcpserver and systemd beside Java's process models](reference.png)\n" : "")
                + "\n## The CSV files\n\n" + Report.csvLegend(scale != null)
                + (notRun.isEmpty() ? "" : "\nNot run here: " + String.join(", ", notRun) + ".\n");
        out.print(report);
        try {
            Files.createDirectories(outDir);
            Files.writeString(outDir.resolve("report.md"), report);
            Files.writeString(outDir.resolve("models.csv"), Report.csv(rows));
            String date = when.substring(0, 10);
            Chart.models(rows, List.of(Family.JAVA_PROCESS, Family.JAVA_ONE_PROCESS, Family.SEED),
                    "forkserver bench " + date + ": Java's models and the article's Python servers", outDir.resolve("models.png"));
            if (references) {
                Chart.models(rows, List.of(Family.JAVA_PROCESS, Family.REFERENCE),
                        "forkserver bench " + date + ": the reference servers beside Java's process models", outDir.resolve("reference.png"));
            }
            if (scale != null) {
                Files.writeString(outDir.resolve("scale.csv"), Report.scaleCsv(scale));
                Chart.scale(scale, models, "bench " + date, outDir.resolve("scale.png"));
            }
        } catch (IOException e) {
            err.println("bench: cannot write the report into " + outDir + ": " + e.getMessage());
            return 1;
        }
        err.println("bench: wrote report.md, models.csv, scale.csv and the charts into " + outDir + "; logs in " + logs);
        if (outDir.equals(home.resolve(Options.COMMITTED_REPORT))) {
            readme(home, err, err); // a run that leaves out a model the README quotes says so and leaves it
        }
        return rows.stream().allMatch(Figures::ok) && scaleFailure == null ? 0 : 1;
    }

    /** A server context for each port: this JDK, the bench's and the worker's classes, loopback. */
    static Function<Integer, ServerContext> contexts(Path home, List<String> nativeEcho) {
        String classpath = codeSource(Bench.class) + File.pathSeparator + codeSource(EchoHandler.class);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return port -> new ServerContext(home, java, classpath, nativeEcho, HOST, port);
    }

    /** Writes README.md's figures from the committed report; 0, or 2 with one line saying why not. */
    static int readme(Path home, PrintStream out, PrintStream err) {
        Path readme = home.resolve("README.md");
        try {
            ReadmeSummary.update(readme, home.resolve(Options.COMMITTED_REPORT));
        } catch (IOException | RuntimeException e) {
            err.println("bench: README.md's figures not written: " + e.getMessage());
            return 2;
        }
        out.println("bench: wrote README.md's figures from " + Options.COMMITTED_REPORT);
        return 0;
    }

    /** The project root: {@code -Dforkserver.home} (bin/bench and Maven set it), else the working directory. */
    static Path home() {
        String property = System.getProperty("forkserver.home");
        return Path.of(property != null ? property : "").toAbsolutePath().normalize();
    }

    /** Whether {@code program} runs here: an absolute path that is executable, or a name found on the PATH. */
    static boolean onPath(String program) {
        if (program.startsWith("/")) {
            return Files.isExecutable(Path.of(program));
        }
        String path = System.getenv("PATH");
        return path != null && Stream.of(path.split(File.pathSeparator))
                .anyMatch(dir -> !dir.isEmpty() && Files.isExecutable(Path.of(dir, program)));
    }

    private static String codeSource(Class<?> type) {
        try {
            return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The 1, 5 and 15 minute load averages, "3.10 2.87 2.20": how busy the machine was. */
    static String loadAverage() {
        try {
            String[] fields = Files.readAllLines(Path.of("/proc/loadavg")).getFirst().split(" ");
            return fields[0] + " " + fields[1] + " " + fields[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** "Python 3.11.2 (/usr/bin/python3)", for the seed models, or that there is none. */
    private static String python() {
        try {
            Process p = new ProcessBuilder(Models.PYTHON, "--version").redirectErrorStream(true).start();
            String version = new String(p.getInputStream().readAllBytes()).strip();
            return p.waitFor() == 0 ? version + " (" + Models.PYTHON + ")" : "no " + Models.PYTHON;
        } catch (IOException e) {
            return "no " + Models.PYTHON;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "no " + Models.PYTHON;
        }
    }

    /** "Linux 6.1.0 amd64, 2 cores, 24 GiB, Java 25.0.3+9-LTS": what the figures depend on. */
    private static String machine() {
        String memory = "";
        try (Stream<String> lines = Files.lines(Path.of("/proc/meminfo"))) {
            memory = lines.filter(l -> l.startsWith("MemTotal:")).findFirst()
                    .map(l -> ", " + Math.round(Long.parseLong(l.replaceAll("[^0-9]", "")) / 1048576.0) + " GiB")
                    .orElse("");
        } catch (IOException | UncheckedIOException e) {
            // leave it out
        }
        return System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch")
                + ", " + Runtime.getRuntime().availableProcessors() + " cores" + memory
                + ", Java " + System.getProperty("java.runtime.version") + " (" + System.getProperty("java.vendor") + ")";
    }
}
