package forkserver.supervisor.base;

import forkserver.posix.Durations;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * {@code --rate N/DURATION}: a token bucket on new connections. It holds at most N tokens (a
 * burst of N is served at once) and gains N per DURATION, continuously. When it is dry the caller
 * waits {@link #nanosUntilToken()} or rejects; it always fills again, so the service is never
 * switched off for good (unlike systemd's TriggerLimit or inetd's "looping" shut-off).
 *
 * <p>Not thread-safe: {@link Admission} calls it under its lock.
 */
public final class RateLimit {

    /** A parsed {@code N/DURATION}. */
    public record Spec(int tokens, Duration per) {

        public static Spec parse(String text) {
            int slash = text.indexOf('/');
            int tokens;
            Duration per;
            try {
                tokens = Integer.parseInt(text.substring(0, Math.max(slash, 0)));
                per = Durations.parse(text.substring(slash + 1));
            } catch (Durations.TooLong e) {
                throw new IllegalArgumentException("--rate: " + e.getMessage());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--rate: expected N/DURATION such as 50/1s, got '" + text + "'");
            }
            if (tokens < 1 || per.isZero()) {
                throw new IllegalArgumentException("--rate: N and DURATION must be positive, got '" + text + "'");
            }
            return new Spec(tokens, per);
        }

        @Override
        public String toString() {
            return tokens + "/" + Durations.seconds(per) + "s";
        }
    }

    private final Spec spec;
    private final LongSupplier clock;
    private final double nanosPerToken;
    private double tokens;
    private long refilledAt;

    public RateLimit(Spec spec, LongSupplier nanoClock) {
        this.spec = spec;
        this.clock = nanoClock;
        this.nanosPerToken = (double) spec.per().toNanos() / spec.tokens();
        this.tokens = spec.tokens();
        this.refilledAt = nanoClock.getAsLong();
    }

    /** Takes a token when there is one. */
    public boolean tryTake() {
        refill();
        if (tokens < 1) {
            return false;
        }
        tokens -= 1;
        return true;
    }

    /** How long until a token is there (0: one is there now). */
    public long nanosUntilToken() {
        refill();
        return tokens >= 1 ? 0 : (long) Math.ceil((1 - tokens) * nanosPerToken);
    }

    private void refill() {
        long now = clock.getAsLong();
        tokens = Math.min(spec.tokens(), tokens + (now - refilledAt) / nanosPerToken);
        refilledAt = now;
    }
}
