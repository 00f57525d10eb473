package forkserver.supervisor.base;

/**
 * Why a connection was refused: one name for the log's {@code reject} line, the status line and
 * the {@code forkserver_rejected_total} metric's {@code reason} label. Every refusal, whichever
 * stage decides it, is one of these.
 */
public enum Reason {
    // Admission: the limits and the rules.
    MAX_CHILDREN("max-children"), MAX_PER_SOURCE("max-per-source"), RATE("rate"), DENIED("denied"),
    /** No child could be started for it (no processes, threads, descriptors or memory left). */
    SPAWN_FAILED("spawn-failed"),
    /** Every uid of --child-user-range is held by a live child, or by what one left running. */
    CHILD_USER_RANGE("child-user-range"),
    /** A spare acknowledged its connection only as it was killed for being late: closed, never served twice. */
    HANDOFF_FAILED("handoff-failed"),
    // --proxy-protocol: decided before admission, on the peer and its header.
    PROXY_UNTRUSTED("proxy-untrusted"), PROXY_TIMEOUT("proxy-timeout"), PROXY_HEADER("proxy-header");

    public final String text;

    Reason(String text) {
        this.text = text;
    }
}
