package forkserver.supervisor.spawn;

/** Which of a child's descriptors are the connection. */
public enum StdioMode {
    /** fd 0 only, the inetd convention our worker expects; fd 1 and 2 are the supervisor's. */
    IN,
    /** fd 0 and fd 1, as tcpserver does, for programs that read stdin and write stdout. */
    INOUT
}
