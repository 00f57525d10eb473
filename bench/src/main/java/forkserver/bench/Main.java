package forkserver.bench;

/** {@code bin/bench}: see {@link Options#USAGE}. */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(Bench.run(args, System.out, System.err));
    }
}
