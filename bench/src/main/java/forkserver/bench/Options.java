package forkserver.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * bin/bench's command line, parsed: which models, how much load, where the files go.
 *
 * @param models  null for every model
 * @param compare two reports' directories to compare instead of running, or null
 * @param readme  write README.md's figures from the committed report instead of running
 */
record Options(boolean help, boolean list, boolean quick, List<String> models, Path report, Integer sessions,
               Integer connections, Integer seconds, List<Integer> scale, List<Path> compare, boolean readme) {

    /**
     * Not git-tracked (.gitignore): a run never overwrites the committed report in docs/bench/,
     * which one refreshes on purpose with {@code --report docs/bench}. The servers' logs always go
     * to {@code bench/out/logs}, never beside a report.
     */
    static final Path DEFAULT_OUT = Path.of("bench", "out");
    static final Path COMMITTED_REPORT = Path.of("docs", "bench");

    static final String USAGE = """
            usage: bin/bench [--quick] [--models NAME,...] [--report DIR] [--sessions N] [--connections K]
                             [--seconds S] [--scale N,N,...]
                   bin/bench --compare DIR_A DIR_B
                   bin/bench --readme
                   bin/bench --list | --help
            Runs the same echo workload against each model (a process, a thread, a virtual thread
            per connection, an event loop, the article's Python servers, ...), then holds a ladder of
            connections with each, and prints the report; writes report.md, models.csv, scale.csv and
            the charts (models.png, scale.png, reference.png) into DIR (default: bench/out under the
            project, not tracked by git; the committed report is docs/bench: refresh it on purpose
            with --report docs/bench). The servers' logs go to bench/out/logs.
              --quick          a smaller workload without the reference servers, under 90 s on 2 cores
              --models LIST    only these models, in this order (see --list)
              --report DIR     where the report goes
              --sessions N     sequential sessions timed for the first-echo latency
              --connections K  connections in the burst and held open
              --seconds S      length of each model's sustained run
              --scale LIST     the scale ladder: connections held at once (default 10,100,1000,10000;
                               --quick 10,100; 0: none)
              --compare A B    runs nothing: reads two reports' scale.csv (and models.csv) and says, per
                               model and rung, whether each figure with an interval (charged, PSS,
                               round trip, first echo) agrees: one run's median within the other's
                               [lowest-highest], or both within the resolution (< R); exit status 0
                               when all agree, 1 when one differs, 2 when a report cannot be read
              --readme         runs nothing: writes the figures in README.md (between its markers) from
                               the committed report docs/bench, as --report docs/bench does after a run
            """;

    /** Parses {@code args}; throws IllegalArgumentException with a one-line message on a usage error. */
    static Options parse(String[] args) {
        boolean help = false;
        boolean list = false;
        boolean quick = false;
        List<String> models = null;
        Path report = null;
        Integer sessions = null;
        Integer connections = null;
        Integer seconds = null;
        List<Integer> scale = null;
        List<Path> compare = null;
        boolean readme = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "-h", "--help" -> help = true;
                case "--list" -> list = true;
                case "--quick" -> quick = true;
                case "--models" -> {
                    models = new ArrayList<>();
                    for (String name : value(args, ++i, arg).split(",")) {
                        models.add(Models.named(name.strip()).name());
                    }
                }
                case "--report" -> report = Path.of(value(args, ++i, arg));
                case "--sessions" -> sessions = positive(value(args, ++i, arg), arg);
                case "--connections" -> connections = positive(value(args, ++i, arg), arg);
                case "--seconds" -> seconds = positive(value(args, ++i, arg), arg);
                case "--scale" -> scale = ladder(value(args, ++i, arg), arg);
                case "--compare" -> {
                    if (i + 2 >= args.length) {
                        throw new IllegalArgumentException("--compare needs two report directories");
                    }
                    compare = List.of(Path.of(args[++i]), Path.of(args[++i]));
                }
                case "--readme" -> readme = true;
                default -> throw new IllegalArgumentException("unknown option '" + arg + "' (see --help)");
            }
        }
        boolean otherOptions = quick || list || models != null || report != null || sessions != null || connections != null
                || seconds != null || scale != null;
        if (compare != null && otherOptions) {
            throw new IllegalArgumentException("--compare runs nothing: it takes no other option");
        }
        if (readme && (compare != null || otherOptions)) {
            throw new IllegalArgumentException("--readme runs nothing: it takes no other option");
        }
        return new Options(help, list, quick, models, report, sessions, connections, seconds, scale, compare, readme);
    }

    /**
     * The models to run: those named, else every model; --quick leaves out the reference servers
     * (tcpserver, systemd) unless they are named.
     */
    List<Model> chosenModels() {
        if (models != null) {
            return models.stream().map(Models::named).toList();
        }
        return Models.ALL.stream().filter(m -> !quick || m.family() != Model.Family.REFERENCE).toList();
    }

    Workload workload() {
        Workload work = quick ? Workload.QUICK : Workload.FULL;
        if (sessions != null) {
            work = work.withSessions(sessions);
        }
        if (connections != null) {
            work = work.withConnections(connections);
        }
        if (seconds != null) {
            work = work.withSeconds(seconds);
        }
        if (scale != null) {
            work = work.withLadder(scale);
        }
        return work;
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    /** "10,100,1000" in increasing order, or "0" for none. */
    private static List<Integer> ladder(String text, String option) {
        if (text.equals("0")) {
            return List.of();
        }
        List<Integer> rungs = new ArrayList<>();
        for (String rung : text.split(",")) {
            int n = positive(rung.strip(), option);
            if (!rungs.isEmpty() && n <= rungs.getLast()) {
                throw new IllegalArgumentException(option + " wants increasing numbers, not '" + text + "'");
            }
            rungs.add(n);
        }
        return rungs;
    }

    private static int positive(String text, String option) {
        try {
            int n = Integer.parseInt(text);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(option + " wants a positive whole number, not '" + text + "'");
    }
}
