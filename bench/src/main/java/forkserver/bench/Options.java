package forkserver.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * bin/bench's command line, parsed: which models, how much load, where the files go.
 *
 * @param models null for every model
 */
record Options(boolean help, boolean list, boolean quick, List<String> models, Path out, Integer sessions,
               Integer connections, Integer seconds, Integer scale) {

    /**
     * Not git-tracked (.gitignore): a run never overwrites the committed sample in bench/results/,
     * which one refreshes on purpose with {@code --out bench/results}.
     */
    static final Path DEFAULT_OUT = Path.of("bench", "out");

    static final String USAGE = """
            usage: bin/bench [--quick] [--models NAME,...] [--out DIR] [--sessions N] [--connections K] [--seconds S]
                             [--scale M]
                   bin/bench --list | --help
            Runs the same echo workload against each model (one process, thread, virtual thread per
            connection, an event loop, ...) and prints a Markdown table; writes bench.md, bench.csv
            and bench.png into DIR (default: bench/out under the project, not tracked by git; the
            README's sample is bench/results: refresh it on purpose with --out bench/results).
              --quick          a smaller workload, under 90 s on 2 cores
              --models LIST    only these models, in this order (see --list)
              --out DIR        where the files go
              --sessions N     sequential sessions timed for the first-echo latency
              --connections K  connections in the burst and held open
              --seconds S      length of each model's sustained run
              --scale M        native sessions held at once for the scale figure (default 1000; 0: none)
            """;

    /** Parses {@code args}; throws IllegalArgumentException with a one-line message on a usage error. */
    static Options parse(String[] args) {
        boolean help = false;
        boolean list = false;
        boolean quick = false;
        List<String> models = null;
        Path out = null;
        Integer sessions = null;
        Integer connections = null;
        Integer seconds = null;
        Integer scale = null;
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
                case "--out" -> out = Path.of(value(args, ++i, arg));
                case "--sessions" -> sessions = positive(value(args, ++i, arg), arg);
                case "--connections" -> connections = positive(value(args, ++i, arg), arg);
                case "--seconds" -> seconds = positive(value(args, ++i, arg), arg);
                case "--scale" -> scale = atLeastZero(value(args, ++i, arg), arg);
                default -> throw new IllegalArgumentException("unknown option '" + arg + "' (see --help)");
            }
        }
        return new Options(help, list, quick, models, out, sessions, connections, seconds, scale);
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
            work = work.withScale(scale);
        }
        return work;
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static int atLeastZero(String text, String option) {
        return text.equals("0") ? 0 : positive(text, option);
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
