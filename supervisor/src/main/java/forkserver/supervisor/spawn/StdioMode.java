package forkserver.supervisor.spawn;

/** Which of a child's descriptors are the connection. */
public enum StdioMode {
    /** fd 0 only, the inetd convention our worker expects; fd 1 is /dev/null, fd 2 the child's own stderr pipe. */
    IN,
    /** fd 0 and fd 1, as tcpserver does, for programs that read stdin and write stdout. */
    INOUT
}
