package forkserver.handler.testkit;

import forkserver.handler.Handler;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A handler served end to end: a real forkserver supervisor on a free loopback port, running the
 * handler in one worker process per connection, exactly as in production. What the in-process
 * {@link HandlerSession} cannot show shows here: the handler loads from its jar in a fresh JVM,
 * takes its arguments from the command line, warms up in a spare, and its exit status is the
 * {@code end} line's.
 *
 * <pre>{@code
 * try (ForkserverProcess server = ForkserverProcess.builder().handler(Greeter.class).start()) {
 *     try (Socket client = new Socket()) {
 *         client.connect(server.address());
 *         ...
 *     }
 *     server.awaitLog("end .*status=0", Duration.ofSeconds(10));
 * }
 * }</pre>
 *
 * <p>The supervisor run is, in order: the system property {@code forkserver.command}, the
 * environment variable {@code FORKSERVER_COMMAND}, else {@code forkserver} on the PATH (the Debian
 * package's). Its log (stderr) is kept for {@link #log()} and {@link #awaitLog}. {@link #close()}
 * stops it with SIGTERM, as an operator would, and waits for it (SIGKILL to it and its children
 * after 30 seconds).
 */
public final class ForkserverProcess implements AutoCloseable {

    private static final Pattern LISTENING = Pattern.compile("listening on \\[?([0-9a-fA-F.:]+)]?:(\\d+)");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

    private final Process process;
    private final List<String> log = new ArrayList<>(); // guarded by itself; notified on each line
    private final InetSocketAddress address;

    private ForkserverProcess(List<String> command, Map<String, String> environment) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true);
        // A test runner may pass its own class path to its JVM this way; the supervisor and every
        // worker would pick it up (and say so on stderr, in the log).
        builder.environment().remove("JAVA_TOOL_OPTIONS");
        builder.environment().putAll(environment);
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new IOException("cannot start forkserver (" + command.getFirst() + "): " + e.getMessage()
                    + "; install the forkserver package, or name the supervisor with -Dforkserver.command=PATH"
                    + " or FORKSERVER_COMMAND", e);
        }
        Thread.ofPlatform().name("forkserver log " + process.pid()).daemon().start(this::readLog);
        String listening;
        try {
            listening = awaitLog(LISTENING.pattern(), START_TIMEOUT);
        } catch (AssertionError e) {
            close();
            throw new IOException("forkserver did not start (" + String.join(" ", command) + "): " + e.getMessage());
        }
        Matcher matcher = LISTENING.matcher(listening);
        matcher.find();
        address = new InetSocketAddress(matcher.group(1), Integer.parseInt(matcher.group(2)));
    }

    /** What to start: the handler, its class path and arguments, and the supervisor's options. */
    public static Builder builder() {
        return new Builder();
    }

    /** Where the supervisor listens: a loopback address and the port it picked. */
    public InetSocketAddress address() {
        return address;
    }

    /** The supervisor's process, for signals and its pid. */
    public Process process() {
        return process;
    }

    /** The supervisor's log lines so far. */
    public List<String> log() {
        synchronized (log) {
            return List.copyOf(log);
        }
    }

    /**
     * Waits for a log line in which {@code regex} is found and returns it; lines logged before the
     * call count.
     *
     * @throws AssertionError when none comes within {@code timeout} or the supervisor ends first;
     *     its message has the log so far
     */
    public String awaitLog(String regex, Duration timeout) {
        Pattern pattern = Pattern.compile(regex);
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (log) {
            int seen = 0;
            while (true) {
                for (; seen < log.size(); seen++) {
                    if (pattern.matcher(log.get(seen)).find()) {
                        return log.get(seen);
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || (!process.isAlive() && !readerAlive)) {
                    throw new AssertionError("no log line matching /" + regex + "/ within " + timeout
                            + (process.isAlive() ? "" : " (forkserver exited " + process.exitValue() + ")")
                            + "; log:\n" + String.join("\n", log));
                }
                try {
                    log.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError("interrupted while waiting for /" + regex + "/");
                }
            }
        }
    }

    private volatile boolean readerAlive = true;

    private void readLog() {
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                synchronized (log) {
                    log.add(line);
                    log.notifyAll();
                }
            }
        } catch (IOException e) {
            // the supervisor is gone
        } finally {
            readerAlive = false;
            synchronized (log) {
                log.notifyAll();
            }
        }
    }

    /**
     * Stops the supervisor with SIGTERM (it drains its children) and waits for it; SIGKILL to it
     * and what is left of its children after 30 seconds.
     */
    @Override
    public void close() {
        List<ProcessHandle> children = process.descendants().toList();
        process.destroy();
        try {
            if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        } finally {
            children.forEach(ProcessHandle::destroyForcibly);
        }
    }

    /** The supervisor to start; everything has a default but the handler. */
    public static final class Builder {

        private String handler;
        private final List<String> handlerArguments = new ArrayList<>();
        private String classPath = System.getProperty("java.class.path");
        private final List<String> options = new ArrayList<>();
        private final Map<String, String> environment = new HashMap<>();
        private String command = defaultCommand();

        private Builder() {
        }

        /** The handler class; it must be on {@link #classPath}. */
        public Builder handler(Class<? extends Handler> type) {
            return handler(type.getName());
        }

        /** The handler by name: {@code echo} or a class on {@link #classPath}. */
        public Builder handler(String name) {
            this.handler = Objects.requireNonNull(name);
            return this;
        }

        /** The handler's arguments ({@code --handler-arg}, in order). */
        public Builder handlerArguments(String... arguments) {
            handlerArguments.addAll(List.of(arguments));
            return this;
        }

        /** The workers' class path ({@code FORKSERVER_WORKER_CLASSPATH}); default: this JVM's. */
        public Builder classPath(String classPath) {
            this.classPath = Objects.requireNonNull(classPath);
            return this;
        }

        /** More supervisor options, e.g. {@code option("--spares", "2")}. */
        public Builder option(String... words) {
            options.addAll(List.of(words));
            return this;
        }

        /** A variable in the supervisor's environment, and so in every worker's. */
        public Builder env(String name, String value) {
            environment.put(name, value);
            return this;
        }

        /** The supervisor program to run, instead of the default (see {@link ForkserverProcess}). */
        public Builder command(String command) {
            this.command = Objects.requireNonNull(command);
            return this;
        }

        /**
         * Starts the supervisor on {@code 127.0.0.1:0} and returns once it listens.
         *
         * @throws IOException when it cannot start or exits before it listens (with its log)
         */
        public ForkserverProcess start() throws IOException {
            if (handler == null) {
                throw new IllegalStateException("no handler: call handler(...) first");
            }
            List<String> argv = new ArrayList<>(List.of(command, "--listen", "127.0.0.1:0", "--handler", handler));
            for (String argument : handlerArguments) {
                argv.add("--handler-arg=" + argument); // '=': an argument may start with '-'
            }
            argv.addAll(options);
            Map<String, String> env = new HashMap<>(environment);
            env.put("FORKSERVER_WORKER_CLASSPATH", classPath);
            return new ForkserverProcess(argv, env);
        }

        private static String defaultCommand() {
            String property = System.getProperty("forkserver.command");
            if (property != null && !property.isBlank()) {
                return property;
            }
            String variable = System.getenv("FORKSERVER_COMMAND");
            if (variable != null && !variable.isBlank()) {
                return variable;
            }
            for (String directory : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
                Path candidate = Path.of(directory.isEmpty() ? "." : directory, "forkserver");
                if (Files.isExecutable(candidate)) {
                    return candidate.toString();
                }
            }
            return "forkserver"; // start() then fails with the OS's "No such file": say what to set
        }
    }
}
