package forkserver.posix;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.net.InetSocketAddress;
import java.util.Arrays;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static forkserver.posix.Errno.EAGAIN;
import static forkserver.posix.Errno.EINTR;

/**
 * The only place forkserver calls the C library, through the Foreign Function &amp; Memory API.
 *
 * <p>The JDK has no API to put an accepted socket on a child's fd 0, nor to own a socket's
 * descriptor number; these calls fill that gap. Each handle has its C signature beside it; every
 * call that fails throws an {@link ErrnoException} naming the call. The constants are Linux's
 * (the same on x86-64 and arm64).
 *
 * <p>Every descriptor created here is close-on-exec, so that no child inherits one by accident;
 * the JDK also closes descriptors above 2 in a child before exec, a second guard.
 */
public final class Posix {

    public static final int AF_UNIX = 1;
    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_SEQPACKET = 5;
    public static final int SOCK_NONBLOCK = 0x800;
    public static final int SOCK_CLOEXEC = 0x80000;
    public static final int SOL_SOCKET = 1;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_KEEPALIVE = 9;
    public static final int IPPROTO_TCP = 6;
    public static final int TCP_KEEPIDLE = 4;
    public static final int TCP_KEEPINTVL = 5;
    public static final int TCP_KEEPCNT = 6;
    public static final int SO_TYPE = 3;
    public static final int SO_REUSEPORT = 15;
    public static final int SO_ACCEPTCONN = 30;
    public static final int SO_DOMAIN = 39;
    public static final int SO_PEERCRED = 17;
    public static final int IPPROTO_IPV6 = 41;
    public static final int IPV6_V6ONLY = 26;
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_NOCTTY = 0x100;
    public static final int O_NONBLOCK = 0x800;
    public static final int O_CLOEXEC = 0x80000;
    public static final int F_GETFD = 1;
    public static final int F_SETFD = 2;
    public static final int FD_CLOEXEC = 1;
    public static final int F_GETFL = 3;
    public static final int F_SETFL = 4;
    public static final int F_DUPFD_CLOEXEC = 1030;
    public static final short POLLIN = 1;
    public static final short POLLERR = 0x8;
    public static final short POLLHUP = 0x10;
    public static final short POLLNVAL = 0x20;
    public static final int MSG_PEEK = 0x2;
    public static final int MSG_DONTWAIT = 0x40;
    public static final int MSG_NOSIGNAL = 0x4000;
    public static final int MSG_TRUNC = 0x20;
    public static final int MSG_CTRUNC = 0x8;
    public static final int MSG_CMSG_CLOEXEC = 0x40000000;
    public static final int SCM_RIGHTS = 1;
    public static final int SHUT_WR = 1;
    public static final int SIGKILL = 9;
    public static final int SIGTERM = 15;
    public static final int RLIMIT_CPU = 0;
    public static final int RLIMIT_FSIZE = 1;
    public static final int RLIMIT_CORE = 4;
    public static final int RLIMIT_NPROC = 6;
    public static final int RLIMIT_NOFILE = 7;
    public static final int RLIMIT_AS = 9;
    /** {@code RLIM_INFINITY}, as {@link #getrlimit} reports it: no limit. */
    public static final long RLIM_INFINITY = -1L;


    private static final int CLOCK_MONOTONIC = 1;
    private static final int PR_SET_DUMPABLE = 4;
    private static final int PR_GET_DUMPABLE = 3;
    private static final int PR_SET_NO_NEW_PRIVS = 38;
    private static final int PR_GET_NO_NEW_PRIVS = 39;
    private static final int M_ARENA_MAX = -8;
    private static final int P_PID = 1;
    private static final int P_PIDFD = 3;
    private static final int WNOHANG = 1;
    private static final int WEXITED = 4;
    private static final int CLD_EXITED = 1;
    private static final int EPOLL_CLOEXEC = 0x80000;
    private static final int EPOLL_CTL_ADD = 1;
    private static final int EPOLL_CTL_DEL = 2;
    private static final int EPOLLIN = 1;
    // struct epoll_event { uint32_t events; epoll_data_t data; } is packed on x86-64 only (12
    // bytes, data at 4); elsewhere, arm64 included, data is 8-aligned (16 bytes, data at 8).
    private static final boolean PACKED_EPOLL_EVENT = "amd64".equals(System.getProperty("os.arch"));
    private static final long EPOLL_EVENT_SIZE = PACKED_EPOLL_EVENT ? 12 : 16;
    private static final long EPOLL_DATA_OFFSET = PACKED_EPOLL_EVENT ? 4 : 8;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    // int socket(int domain, int type, int protocol);
    private static final MethodHandle SOCKET = capturing("socket", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
    // int setsockopt(int fd, int level, int name, const void *value, socklen_t length);
    private static final MethodHandle SETSOCKOPT =
            capturing("setsockopt", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    // int getsockopt(int fd, int level, int name, void *value, socklen_t *length);
    private static final MethodHandle GETSOCKOPT =
            capturing("getsockopt", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    // int bind(int fd, const struct sockaddr *address, socklen_t length);
    private static final MethodHandle BIND = capturing("bind", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    // int listen(int fd, int backlog);
    private static final MethodHandle LISTEN = capturing("listen", JAVA_INT, JAVA_INT, JAVA_INT);
    // int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
    private static final MethodHandle ACCEPT4 =
            capturing("accept4", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
    // int getsockname(int fd, struct sockaddr *address, socklen_t *length);
    private static final MethodHandle GETSOCKNAME =
            capturing("getsockname", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    // int dup2(int old, int new);
    private static final MethodHandle DUP2 = capturing("dup2", JAVA_INT, JAVA_INT, JAVA_INT);
    // int fcntl(int fd, int command, ... /* int argument */);
    private static final MethodHandle FCNTL = capturing("fcntl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
    // int open(const char *path, int flags, ... /* mode_t mode */);
    private static final MethodHandle OPEN = capturing("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
    // int close(int fd);
    private static final MethodHandle CLOSE = capturing("close", JAVA_INT, JAVA_INT);
    // int pipe2(int fds[2], int flags);
    private static final MethodHandle PIPE2 = capturing("pipe2", JAVA_INT, ADDRESS, JAVA_INT);
    // ssize_t write(int fd, const void *buffer, size_t count);
    private static final MethodHandle WRITE =
            capturing("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    // ssize_t read(int fd, void *buffer, size_t count);
    private static final MethodHandle READ =
            capturing("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    // int poll(struct pollfd *fds, nfds_t count, int timeout_ms);
    private static final MethodHandle POLL = capturing("poll", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
    // ssize_t send(int fd, const void *buffer, size_t length, int flags);
    private static final MethodHandle SEND =
            capturing("send", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    // ssize_t recv(int fd, void *buffer, size_t length, int flags);
    private static final MethodHandle RECV =
            capturing("recv", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    // ssize_t sendto(int fd, const void *buffer, size_t length, int flags,
    //                const struct sockaddr *address, socklen_t address_length);
    private static final MethodHandle SENDTO = capturing("sendto",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    // int clock_gettime(clockid_t clock, struct timespec *time);
    private static final MethodHandle CLOCK_GETTIME = capturing("clock_gettime", JAVA_INT, JAVA_INT, ADDRESS);
    // int socketpair(int domain, int type, int protocol, int fds[2]);
    private static final MethodHandle SOCKETPAIR =
            capturing("socketpair", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    // ssize_t sendmsg(int fd, const struct msghdr *message, int flags);
    private static final MethodHandle SENDMSG =
            capturing("sendmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    // ssize_t recvmsg(int fd, struct msghdr *message, int flags);
    private static final MethodHandle RECVMSG =
            capturing("recvmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    // int shutdown(int fd, int how);
    private static final MethodHandle SHUTDOWN = capturing("shutdown", JAVA_INT, JAVA_INT, JAVA_INT);
    // int pidfd_open(pid_t pid, unsigned int flags);  (glibc 2.36; the descriptor is close-on-exec)
    private static final MethodHandle PIDFD_OPEN = capturing("pidfd_open", JAVA_INT, JAVA_INT, JAVA_INT);
    // int pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned int flags);
    private static final MethodHandle PIDFD_SEND_SIGNAL =
            capturing("pidfd_send_signal", JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    // int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options);
    private static final MethodHandle WAITID = capturing("waitid", JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    // int mallopt(int param, int value);  (returns 1 on success, 0 on error; errno not set)
    private static final MethodHandle MALLOPT =
            LINKER.downcallHandle(LIBC.findOrThrow("mallopt"), FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    // int kill(pid_t pid, int sig);
    private static final MethodHandle KILL = capturing("kill", JAVA_INT, JAVA_INT, JAVA_INT);
    // int epoll_create1(int flags);
    private static final MethodHandle EPOLL_CREATE1 = capturing("epoll_create1", JAVA_INT, JAVA_INT);
    // int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
    private static final MethodHandle EPOLL_CTL = capturing("epoll_ctl", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    // int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout_ms);
    private static final MethodHandle EPOLL_WAIT = capturing("epoll_wait", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
    // int getrlimit(int resource, struct rlimit *limit);
    private static final MethodHandle GETRLIMIT = capturing("getrlimit", JAVA_INT, JAVA_INT, ADDRESS);
    // int prlimit(pid_t pid, int resource, const struct rlimit *new_limit, struct rlimit *old_limit);
    private static final MethodHandle PRLIMIT = capturing("prlimit", JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    // struct passwd *getpwnam(const char *name);  (NULL: no such user, or the lookup failed)
    private static final MethodHandle GETPWNAM = capturing("getpwnam", ADDRESS, ADDRESS);
    // struct group *getgrnam(const char *name);  (NULL: no such group, or the lookup failed)
    private static final MethodHandle GETGRNAM = capturing("getgrnam", ADDRESS, ADDRESS);
    // int setgroups(size_t size, const gid_t *list);
    private static final MethodHandle SETGROUPS = capturing("setgroups", JAVA_INT, JAVA_LONG, ADDRESS);
    // int setgid(gid_t gid);
    private static final MethodHandle SETGID = capturing("setgid", JAVA_INT, JAVA_INT);
    // int setuid(uid_t uid);
    private static final MethodHandle SETUID = capturing("setuid", JAVA_INT, JAVA_INT);
    // uid_t geteuid(void);  (cannot fail)
    private static final MethodHandle GETEUID =
            LINKER.downcallHandle(LIBC.findOrThrow("geteuid"), FunctionDescriptor.of(JAVA_INT));
    // gid_t getegid(void);  (cannot fail)
    private static final MethodHandle GETEGID =
            LINKER.downcallHandle(LIBC.findOrThrow("getegid"), FunctionDescriptor.of(JAVA_INT));
    // int prctl(int option, ...);  (variadic in glibc; the kernel reads four unsigned longs after option)
    private static final MethodHandle PRCTL = capturing("prctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(1));
    // char *strerror(int errno);  (only called on the error path, for the message)
    private static final MethodHandle STRERROR =
            LINKER.downcallHandle(LIBC.findOrThrow("strerror"), FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private Posix() {
    }

    public static int socket(int domain, int type, int protocol) throws ErrnoException {
        return call((arena, state) -> check("socket", (int) SOCKET.invokeExact(state, domain, type, protocol), state));
    }

    public static void setsockopt(int fd, int level, int name, int value) throws ErrnoException {
        call((arena, state) -> {
            MemorySegment option = arena.allocateFrom(JAVA_INT, value);
            int size = (int) JAVA_INT.byteSize();
            return check("setsockopt", (int) SETSOCKOPT.invokeExact(state, fd, level, name, option, size), state);
        });
    }

    public static int getsockopt(int fd, int level, int name) throws ErrnoException {
        return call((arena, state) -> {
            MemorySegment option = arena.allocate(JAVA_INT);
            MemorySegment length = arena.allocateFrom(JAVA_INT, (int) JAVA_INT.byteSize());
            check("getsockopt", (int) GETSOCKOPT.invokeExact(state, fd, level, name, option, length), state);
            return option.get(JAVA_INT, 0);
        });
    }

    public static void bind(int fd, InetSocketAddress address) throws ErrnoException {
        call((arena, state) -> {
            MemorySegment sockaddr = SockAddr.encode(arena, address);
            return check("bind", (int) BIND.invokeExact(state, fd, sockaddr, (int) sockaddr.byteSize()), state);
        });
    }

    public static void listen(int fd, int backlog) throws ErrnoException {
        call((arena, state) -> check("listen", (int) LISTEN.invokeExact(state, fd, backlog), state));
    }

    /**
     * An accepted connection: its descriptor (close-on-exec) and the peer's address; null for an
     * AF_UNIX peer, which has none worth the name (see {@link #peerCredentials}).
     */
    public record AcceptedSocket(int fd, InetSocketAddress remote) {
    }

    /**
     * {@code accept4(fd, ..., SOCK_CLOEXEC)}: the descriptor is ours, close-on-exec until the
     * spawner deliberately dup2s it onto a child's fd 0. Returns null when the listening socket is
     * non-blocking and no connection is waiting (EAGAIN), or the call was interrupted (EINTR).
     */
    public static AcceptedSocket accept(int fd) throws ErrnoException {
        return call((arena, state) -> {
            MemorySegment sockaddr = arena.allocate(SockAddr.STORAGE_SIZE, 8);
            MemorySegment length = arena.allocateFrom(JAVA_INT, (int) SockAddr.STORAGE_SIZE);
            int accepted = (int) ACCEPT4.invokeExact(state, fd, sockaddr, length, SOCK_CLOEXEC);
            if (accepted < 0 && (errno(state) == EAGAIN || errno(state) == EINTR)) {
                return null;
            }
            check("accept4", accepted, state);
            boolean unix = sockaddr.get(JAVA_SHORT, 0) == AF_UNIX;
            return new AcceptedSocket(accepted, unix ? null : SockAddr.decode(sockaddr, length.get(JAVA_INT, 0)));
        });
    }

    public static InetSocketAddress getsockname(int fd) throws ErrnoException {
        return getsockname(fd, SockAddr::decode);
    }

    /**
     * {@code getsockname} of an AF_UNIX socket: its path, {@code @name} in the abstract namespace,
     * or the empty string for an unnamed one.
     */
    public static String getsocknameUnix(int fd) throws ErrnoException {
        return getsockname(fd, SockAddr::unixName);
    }

    /** A {@code struct sockaddr} of a given length, made a value. */
    @FunctionalInterface
    private interface Decoder<T> {
        T decode(MemorySegment sockaddr, int length);
    }

    private static <T> T getsockname(int fd, Decoder<T> decoder) throws ErrnoException {
        return call((arena, state) -> {
            MemorySegment sockaddr = arena.allocate(SockAddr.STORAGE_SIZE, 8);
            MemorySegment length = arena.allocateFrom(JAVA_INT, (int) SockAddr.STORAGE_SIZE);
            check("getsockname", (int) GETSOCKNAME.invokeExact(state, fd, sockaddr, length), state);
            return decoder.decode(sockaddr, length.get(JAVA_INT, 0));
        });
    }

    /** The peer of an AF_UNIX stream socket as it was when it connected (SO_PEERCRED). */
    public record PeerCredentials(long pid, long uid, long gid) {
    }

    /**
     * {@code getsockopt(fd, SOL_SOCKET, SO_PEERCRED)}: {@code struct ucred { pid_t pid; uid_t
     * uid; gid_t gid; }}, set by the kernel at connect(2): the client cannot forge it (only root
     * may pass other ids, with SCM_CREDENTIALS, which this does not read).
     */
    public static PeerCredentials peerCredentials(int fd) throws ErrnoException {
        return call((arena, state) -> {
            MemorySegment ucred = arena.allocate(12, 4);
            MemorySegment length = arena.allocateFrom(JAVA_INT, 12);
            check("getsockopt(SO_PEERCRED)",
                    (int) GETSOCKOPT.invokeExact(state, fd, SOL_SOCKET, SO_PEERCRED, ucred, length), state);
            return new PeerCredentials(ucred.get(JAVA_INT, 0), Integer.toUnsignedLong(ucred.get(JAVA_INT, 4)),
                    Integer.toUnsignedLong(ucred.get(JAVA_INT, 8)));
        });
    }

    /** {@code dup2(from, to)}, retried on EINTR. The copy on {@code to} is not close-on-exec. */
    public static void dup2(int from, int to) throws ErrnoException {
        call((arena, state) -> {
            int result;
            do {
                result = (int) DUP2.invokeExact(state, from, to);
            } while (result < 0 && errno(state) == EINTR);
            return check("dup2", result, state);
        });
    }

    /** {@code fcntl(fd, command, argument)}. */
    public static int fcntl(int fd, int command, int argument) throws ErrnoException {
        return call((arena, state) -> check("fcntl", (int) FCNTL.invokeExact(state, fd, command, argument), state));
    }

    /** A close-on-exec copy of {@code fd} numbered at least {@code lowest}. */
    public static int dupCloexec(int fd, int lowest) throws ErrnoException {
        return fcntl(fd, F_DUPFD_CLOEXEC, lowest);
    }

    public static int open(String path, int flags) throws ErrnoException {
        return call((arena, state) ->
                check("open " + path, (int) OPEN.invokeExact(state, arena.allocateFrom(path), flags, 0), state));
    }

    /**
     * {@code open(path, O_WRONLY | O_CLOEXEC)}, one {@code write} of {@code text}, {@code close}: how
     * a kernel interface file (cgroupfs, procfs) takes a command. Its answer is the write's errno
     * (ESRCH: no such process; EBUSY; EINVAL), which the JDK's IOException does not carry.
     */
    public static void writeFile(String path, String text) throws ErrnoException {
        call((arena, state) -> {
            int fd = check("open " + path, (int) OPEN.invokeExact(state, arena.allocateFrom(path), O_WRONLY | O_CLOEXEC, 0), state);
            try {
                MemorySegment buffer = arena.allocateFrom(JAVA_BYTE, text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                long written;
                do {
                    written = (long) WRITE.invokeExact(state, fd, buffer, buffer.byteSize());
                } while (written < 0 && errno(state) == EINTR);
                return check("write " + path, (int) Math.min(written, 0), state);
            } finally {
                // The write's errno is already read; close's result changes nothing (the descriptor is gone either way).
                int closed = (int) CLOSE.invokeExact(state, fd);
            }
        });
    }

    /** Closes {@code fd}. Not retried on EINTR: on Linux the descriptor is gone either way. */
    public static void close(int fd) throws ErrnoException {
        call((arena, state) -> {
            int result = (int) CLOSE.invokeExact(state, fd);
            return result < 0 && errno(state) == EINTR ? 0 : check("close", result, state);
        });
    }

    /** A close-on-exec, non-blocking pipe: {read end, write end}. */
    public static int[] pipe() throws ErrnoException {
        return call((arena, state) -> {
            MemorySegment fds = arena.allocate(JAVA_INT, 2);
            check("pipe2", (int) PIPE2.invokeExact(state, fds, O_CLOEXEC | O_NONBLOCK), state);
            return new int[] {fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1)};
        });
    }

    /** Writes one byte; a full non-blocking pipe (EAGAIN) counts as written. */
    public static void writeByte(int fd) throws ErrnoException {
        call((arena, state) -> {
            long result = (long) WRITE.invokeExact(state, fd, arena.allocate(1), 1L);
            return result < 0 && errno(state) == EAGAIN ? 0 : check("write", (int) result, state);
        });
    }

    /** Reads and discards what a non-blocking descriptor holds. */
    public static void drain(int fd) throws ErrnoException {
        call((arena, state) -> {
            MemorySegment buffer = arena.allocate(64);
            long result;
            do {
                result = (long) READ.invokeExact(state, fd, buffer, buffer.byteSize());
            } while (result > 0 || (result < 0 && errno(state) == EINTR));
            return result < 0 && errno(state) == EAGAIN ? 0 : check("read", (int) result, state);
        });
    }

    /**
     * Waits until one of {@code fds} is readable, or {@code timeoutMillis} passes (-1: no limit).
     * Returns the index of the first readable (or hung-up) descriptor, or -1 on timeout or EINTR.
     */
    public static int pollReadable(int[] fds, int timeoutMillis) throws ErrnoException {
        int[] ready = pollAll(fds, timeoutMillis);
        return ready.length == 0 ? -1 : ready[0];
    }

    /**
     * Waits until any of {@code fds} is readable (or hung up), or {@code timeoutMillis} passes
     * (-1: no limit), and returns the indexes of all that are; none on timeout or EINTR.
     */
    public static int[] pollAll(int[] fds, int timeoutMillis) throws ErrnoException {
        short[] revents = new short[fds.length];
        int ready = poll(fds, fds.length, timeoutMillis, revents);
        int[] indexes = new int[Math.max(ready, 0)];
        for (int i = 0, found = 0; i < fds.length && found < indexes.length; i++) {
            if (revents[i] != 0) {
                indexes[found++] = i;
            }
        }
        return indexes;
    }

    /**
     * {@code poll} on the first {@code count} of {@code fds}, each for POLLIN, at most
     * {@code timeoutMillis} (-1: no limit): unlike {@link #pollReadable}, it reports every ready
     * descriptor, in {@code revents[i]} (POLLIN, POLLHUP, POLLERR, POLLNVAL; 0 when not ready).
     * Returns how many are ready: 0 on timeout, -1 when interrupted (EINTR).
     */
    public static int poll(int[] fds, int count, int timeoutMillis, short[] revents) throws ErrnoException {
        return call((arena, state) -> {
            // struct pollfd { int fd; short events; short revents; }
            MemorySegment pollfds = arena.allocate(8L * Math.max(count, 1), 4);
            for (int i = 0; i < count; i++) {
                pollfds.set(JAVA_INT, 8L * i, fds[i]);
                pollfds.set(JAVA_SHORT, 8L * i + 4, POLLIN);
            }
            int ready = (int) POLL.invokeExact(state, pollfds, (long) count, timeoutMillis);
            if (ready < 0 && errno(state) == EINTR) {
                return -1;
            }
            check("poll", ready, state);
            for (int i = 0; i < count; i++) {
                revents[i] = pollfds.get(JAVA_SHORT, 8L * i + 6);
            }
            return ready;
        });
    }

    /**
     * {@code recv(fd, buffer, length, MSG_DONTWAIT)}, or with {@code MSG_PEEK} too when
     * {@code peek}: the bytes are copied into {@code into} from {@code offset} and, when peeking,
     * stay queued in the socket for the next reader. Never blocks. Returns how many bytes came,
     * 0 at end of stream, -1 when none is there now (EAGAIN, EINTR).
     */
    public static int receiveNow(int fd, byte[] into, int offset, int length, boolean peek) throws ErrnoException {
        return call((arena, state) -> {
            MemorySegment buffer = arena.allocate(Math.max(length, 1));
            long received = (long) RECV.invokeExact(state, fd, buffer, (long) length,
                    MSG_DONTWAIT | (peek ? MSG_PEEK : 0));
            if (received < 0 && (errno(state) == EAGAIN || errno(state) == EINTR)) {
                return -1;
            }
            check("recv", (int) Math.min(received, 0), state);
            MemorySegment.copy(buffer, JAVA_BYTE, 0, into, offset, (int) received);
            return (int) received;
        });
    }

    /**
     * {@code send(fd, bytes, MSG_DONTWAIT | MSG_NOSIGNAL)}: writes what fits in the socket's
     * buffer now and never blocks nor raises SIGPIPE. Returns how many bytes went (0 when the
     * buffer is full).
     */
    public static int sendNow(int fd, byte[] bytes) throws ErrnoException {
        return call((arena, state) -> {
            MemorySegment buffer = arena.allocateFrom(java.lang.foreign.ValueLayout.JAVA_BYTE, bytes);
            long sent = (long) SEND.invokeExact(state, fd, buffer, (long) bytes.length, MSG_DONTWAIT | MSG_NOSIGNAL);
            return sent < 0 && (errno(state) == EAGAIN || errno(state) == EINTR) ? 0 : check("send", (int) sent, state);
        });
    }

    /** Reads and discards what a socket holds now, without blocking ({@code recv(MSG_DONTWAIT)}). */
    public static void discardNow(int fd) throws ErrnoException {
        call((arena, state) -> {
            MemorySegment buffer = arena.allocate(512);
            long result;
            int rounds = 0; // bounded: a fast sender must not keep the caller here
            do {
                result = (long) RECV.invokeExact(state, fd, buffer, buffer.byteSize(), MSG_DONTWAIT);
            } while (result > 0 && ++rounds < 64);
            return result < 0 && (errno(state) == EAGAIN || errno(state) == EINTR) ? 0 : check("recv", (int) Math.min(result, 0), state);
        });
    }

    /**
     * {@code socketpair(domain, type | SOCK_CLOEXEC, 0)}: two connected descriptors, both
     * close-on-exec, that no other process can reach (no address, no path).
     */
    public static int[] socketpair(int domain, int type) throws ErrnoException {
        return call((arena, state) -> {
            MemorySegment fds = arena.allocate(JAVA_INT, 2);
            check("socketpair", (int) SOCKETPAIR.invokeExact(state, domain, type | SOCK_CLOEXEC, 0, fds), state);
            return new int[] {fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1)};
        });
    }

    /**
     * {@code sendmsg(socket, {body, SCM_RIGHTS: fd}, MSG_NOSIGNAL)}: passes a copy of {@code fd}
     * to the process at the other end of {@code socket}, with {@code body} as the message's
     * bytes, waiting for room if need be. A peer that is gone fails with EPIPE or ECONNRESET,
     * never a SIGPIPE; the caller still owns {@code fd}.
     */
    public static void sendFd(int socket, int fd, byte[] body) throws ErrnoException {
        sendFd(socket, fd, body, MSG_NOSIGNAL);
    }

    /**
     * {@link #sendFd} that never waits ({@code MSG_DONTWAIT}): a peer whose queue is full fails
     * with EAGAIN instead of holding the caller.
     */
    public static void sendFdNow(int socket, int fd, byte[] body) throws ErrnoException {
        sendFd(socket, fd, body, MSG_NOSIGNAL | MSG_DONTWAIT);
    }

    private static void sendFd(int socket, int fd, byte[] body, int flags) throws ErrnoException {
        call((arena, state) -> {
            MemorySegment message = Msghdr.allocate(arena, arena.allocateFrom(JAVA_BYTE, body),
                    Msghdr.rights(arena, fd));
            long sent;
            do {
                sent = (long) SENDMSG.invokeExact(state, socket, message, flags);
            } while (sent < 0 && errno(state) == EINTR);
            check("sendmsg", (int) Math.min(sent, 0), state);
            if (sent != body.length) {
                // SOCK_SEQPACKET sends a record whole or not at all.
                throw new IllegalStateException("sendmsg sent " + sent + " of " + body.length + " bytes");
            }
            return 0;
        });
    }

    /** What {@link #receiveFd} received: a descriptor (-1 when none came) and the message's bytes. */
    public record ReceivedFd(int fd, byte[] body) {
    }

    /**
     * {@code recvmsg(socket, ..., MSG_CMSG_CLOEXEC)}: waits for one message of at most
     * {@code maxBody} bytes and the descriptor it carries, which arrives close-on-exec (no
     * window where an exec could leak it). Returns null at end of file (the sender closed its end).
     * A descriptor the kernel could not install, this process having none free, is an
     * {@link ErrnoException} with {@link Errno#EMFILE}: the message is consumed, the descriptor lost.
     */
    public static ReceivedFd receiveFd(int socket, int maxBody) throws ErrnoException {
        return call((arena, state) -> {
            MemorySegment body = arena.allocate(maxBody);
            MemorySegment control = arena.allocate(Msghdr.RIGHTS_SPACE, 8);
            MemorySegment message = Msghdr.allocate(arena, body, control);
            long received;
            do {
                received = (long) RECVMSG.invokeExact(state, socket, message, MSG_CMSG_CLOEXEC);
            } while (received < 0 && errno(state) == EINTR);
            check("recvmsg", (int) Math.min(received, 0), state);
            int fd = Msghdr.receivedFd(message, control);
            int flags = Msghdr.flags(message);
            if ((flags & MSG_CTRUNC) != 0 && fd < 0 && (flags & MSG_TRUNC) == 0) {
                // The kernel installs a passed descriptor in the receiver; when it cannot (this
                // process is at RLIMIT_NOFILE) it drops it and says so with MSG_CTRUNC alone.
                throw new ErrnoException("recvmsg", Errno.EMFILE,
                        "a descriptor came with the message, and this process had no descriptor free to take it");
            }
            if (received == 0 && fd < 0) {
                return null;
            }
            if ((flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
                if (fd >= 0) {
                    int ignored = (int) CLOSE.invokeExact(state, fd);
                }
                throw new IllegalStateException("recvmsg: the message was longer than " + maxBody
                        + " bytes or carried more than one descriptor");
            }
            return new ReceivedFd(fd, body.asSlice(0, received).toArray(JAVA_BYTE));
        });
    }

    /** Writes one byte, waiting if need be; a peer that is gone fails with EPIPE, never a SIGPIPE. */
    public static void sendByte(int socket, byte value) throws ErrnoException {
        call((arena, state) -> {
            long sent;
            do {
                sent = (long) SEND.invokeExact(state, socket, arena.allocateFrom(JAVA_BYTE, value),
                        1L, MSG_NOSIGNAL);
            } while (sent < 0 && errno(state) == EINTR);
            return check("send", (int) Math.min(sent, 0), state);
        });
    }

    /** Waits for one byte: returns it (0 to 255), or -1 at end of file. */
    public static int receiveByte(int socket) throws ErrnoException {
        return receiveByte(socket, 0);
    }

    /** {@link #receiveByte} without waiting: the byte, -1 at end of file, {@link #NOTHING_YET} when none is there. */
    public static int receiveByteNow(int socket) throws ErrnoException {
        return receiveByte(socket, MSG_DONTWAIT);
    }

    /** What {@link #receiveByteNow} returns when no byte is there yet. */
    public static final int NOTHING_YET = -2;

    private static int receiveByte(int socket, int flags) throws ErrnoException {
        return call((arena, state) -> {
            MemorySegment buffer = arena.allocate(1);
            long received;
            do {
                received = (long) RECV.invokeExact(state, socket, buffer, 1L, flags);
            } while (received < 0 && errno(state) == EINTR);
            if (received < 0 && errno(state) == EAGAIN && (flags & MSG_DONTWAIT) != 0) {
                return NOTHING_YET;
            }
            check("recv", (int) Math.min(received, 0), state);
            return received == 0 ? -1 : Byte.toUnsignedInt(buffer.get(JAVA_BYTE, 0));
        });
    }

    /**
     * {@code socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)}: a datagram socket for
     * messages to a local address ({@link #sendToUnix}), e.g. systemd's notification socket.
     */
    public static int unixDatagramSocket() throws ErrnoException {
        return socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    }

    /**
     * {@code bind(fd, sockaddr_un)}: {@code address} is a path, or {@code @name} for Linux's abstract
     * namespace (see {@link SockAddr#unix}).
     */
    public static void bindUnix(int fd, String address) throws ErrnoException {
        call((arena, state) -> {
            MemorySegment sockaddr = SockAddr.unix(arena, address);
            return check("bind " + address, (int) BIND.invokeExact(state, fd, sockaddr, (int) sockaddr.byteSize()), state);
        });
    }

    /**
     * {@code sendto(fd, message, MSG_DONTWAIT | MSG_NOSIGNAL, sockaddr_un)}: one datagram to a
     * local address (a path, or {@code @name}), never waiting: a receiver whose queue is full
     * fails with EAGAIN, one that is gone with ECONNREFUSED or ENOENT.
     */
    public static void sendToUnix(int fd, String address, byte[] message) throws ErrnoException {
        call((arena, state) -> {
            MemorySegment sockaddr = SockAddr.unix(arena, address);
            MemorySegment buffer = arena.allocateFrom(JAVA_BYTE, message);
            long sent;
            do {
                sent = (long) SENDTO.invokeExact(state, fd, buffer, (long) message.length, MSG_DONTWAIT | MSG_NOSIGNAL,
                        sockaddr, (int) sockaddr.byteSize());
            } while (sent < 0 && errno(state) == EINTR);
            return check("sendto " + address, (int) Math.min(sent, 0), state);
        });
    }

    /**
     * {@code recv(fd, ..., MSG_DONTWAIT)}: the next datagram (at most {@code max} bytes; a longer one
     * is cut), or null when none is waiting.
     */
    public static byte[] receiveNow(int fd, int max) throws ErrnoException {
        return call((arena, state) -> {
            MemorySegment buffer = arena.allocate(max);
            long received;
            do {
                received = (long) RECV.invokeExact(state, fd, buffer, (long) max, MSG_DONTWAIT);
            } while (received < 0 && errno(state) == EINTR);
            if (received < 0 && errno(state) == EAGAIN) {
                return null;
            }
            check("recv", (int) Math.min(received, 0), state);
            return buffer.asSlice(0, received).toArray(JAVA_BYTE);
        });
    }

    /**
     * {@code read(fd, ...)} on a non-blocking descriptor: up to {@code max} bytes, an empty array
     * at end of file, null when nothing is there now (EAGAIN).
     */
    public static byte[] readNow(int fd, int max) throws ErrnoException {
        return call((arena, state) -> {
            MemorySegment buffer = arena.allocate(max);
            long read;
            do {
                read = (long) READ.invokeExact(state, fd, buffer, (long) max);
            } while (read < 0 && errno(state) == EINTR);
            if (read < 0 && errno(state) == EAGAIN) {
                return null;
            }
            check("read", (int) Math.min(read, 0), state);
            return buffer.asSlice(0, read).toArray(JAVA_BYTE);
        });
    }

    /**
     * {@code clock_gettime(CLOCK_MONOTONIC)} in microseconds: the clock systemd's
     * {@code MONOTONIC_USEC=} is read on.
     */
    public static long monotonicMicros() {
        try {
            return call((arena, state) -> {
                MemorySegment time = arena.allocate(16, 8); // struct timespec { time_t tv_sec; long tv_nsec; }
                check("clock_gettime", (int) CLOCK_GETTIME.invokeExact(state, CLOCK_MONOTONIC, time), state);
                return time.get(JAVA_LONG, 0) * 1_000_000 + time.get(JAVA_LONG, 8) / 1_000;
            });
        } catch (ErrnoException e) {
            throw new IllegalStateException(e); // CLOCK_MONOTONIC always exists on Linux
        }
    }

    /** {@code shutdown(fd, how)}. */
    public static void shutdown(int fd, int how) throws ErrnoException {
        call((arena, state) -> check("shutdown", (int) SHUTDOWN.invokeExact(state, fd, how), state));
    }

    /**
     * {@code pidfd_open(pid, 0)}: a descriptor (close-on-exec) that refers to process {@code pid}
     * for as long as it is held, whatever happens to the number: it becomes readable when the
     * process has exited, and signals sent through it cannot reach another process that later
     * gets the same pid.
     */
    public static int pidfdOpen(long pid) throws ErrnoException {
        return call((arena, state) -> check("pidfd_open", (int) PIDFD_OPEN.invokeExact(state, (int) pid, 0), state));
    }

    /**
     * {@code pidfd_send_signal(pidfd, signal, NULL, 0)}. Returns false when the process has
     * already exited (ESRCH): nothing left to signal.
     */
    public static boolean pidfdSignal(int pidfd, int signal) throws ErrnoException {
        return call((arena, state) -> {
            int result = (int) PIDFD_SEND_SIGNAL.invokeExact(state, pidfd, signal, MemorySegment.NULL, 0);
            if (result < 0 && errno(state) == Errno.ESRCH) {
                return false;
            }
            check("pidfd_send_signal", result, state);
            return true;
        });
    }

    /** How a child ended, as {@code waitid} tells it: exited with a status, or killed by a signal. */
    public record ChildExit(boolean signalled, int value) {

        /** The JDK's (and a shell's) single number for it: the status, or 128 + the signal. */
        public int exitValue() {
            return signalled ? 128 + value : value;
        }
    }

    /**
     * {@code waitid(P_PIDFD, pidfd, ..., WEXITED | WNOHANG)}: reaps the child and says how it
     * ended, or null while it still runs. Throws with ECHILD when someone else has already reaped it.
     */
    public static ChildExit waitExited(int pidfd) throws ErrnoException {
        return call((arena, state) -> {
            // siginfo_t (128 bytes): int si_signo, si_errno, si_code; (pad); pid_t si_pid @16;
            // uid_t si_uid @20; int si_status @24. Zeroed: with WNOHANG and nothing to report
            // the kernel leaves si_pid 0.
            MemorySegment info = arena.allocate(128, 8);
            int options = WEXITED | WNOHANG;
            check("waitid", (int) WAITID.invokeExact(state, P_PIDFD, pidfd, info, options), state);
            if (info.get(JAVA_INT, 16) == 0) {
                return null;
            }
            int code = info.get(JAVA_INT, 8);
            return new ChildExit(code != CLD_EXITED, info.get(JAVA_INT, 24));
        });
    }

    /**
     * {@code mallopt(M_ARENA_MAX, arenas)}: glibc's malloc makes at most {@code arenas} arenas
     * from now on (its default is 8 per core). Returns false if glibc refused.
     */
    public static boolean mallocArenaMax(int arenas) {
        try {
            return (int) MALLOPT.invokeExact(M_ARENA_MAX, arenas) == 1;
        } catch (Throwable t) {
            throw new IllegalStateException("mallopt failed unexpectedly", t);
        }
    }

    /**
     * {@code kill(pid, signal)}. Only for a child that has not been reaped (whose pid therefore
     * cannot have been reused); use {@link #pidfdSignal} otherwise.
     */
    public static void kill(long pid, int signal) throws ErrnoException {
        call((arena, state) -> check("kill", (int) KILL.invokeExact(state, (int) pid, signal), state));
    }

    /** {@code waitid(P_PID, pid, ..., WEXITED)}: waits for child {@code pid} to end and reaps it. */
    public static ChildExit reap(long pid) throws ErrnoException {
        return call((arena, state) -> {
            MemorySegment info = arena.allocate(128, 8);
            int result;
            do {
                result = (int) WAITID.invokeExact(state, P_PID, (int) pid, info, WEXITED);
            } while (result < 0 && errno(state) == EINTR);
            check("waitid", result, state);
            return new ChildExit(info.get(JAVA_INT, 8) != CLD_EXITED, info.get(JAVA_INT, 24));
        });
    }

    /** {@code epoll_create1(EPOLL_CLOEXEC)}. */
    public static int epollCreate() throws ErrnoException {
        return call((arena, state) -> check("epoll_create1", (int) EPOLL_CREATE1.invokeExact(state, EPOLL_CLOEXEC), state));
    }

    /** {@code epoll_ctl(epfd, EPOLL_CTL_ADD, fd, {EPOLLIN, data = fd})}: watches {@code fd} for reading. */
    public static void epollAdd(int epfd, int fd) throws ErrnoException {
        call((arena, state) -> {
            MemorySegment event = arena.allocate(EPOLL_EVENT_SIZE, 8);
            event.set(JAVA_INT, 0, EPOLLIN);
            event.set(JAVA_INT, EPOLL_DATA_OFFSET, fd);
            return check("epoll_ctl", (int) EPOLL_CTL.invokeExact(state, epfd, EPOLL_CTL_ADD, fd, event), state);
        });
    }

    /** {@code epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL)}. */
    public static void epollRemove(int epfd, int fd) throws ErrnoException {
        call((arena, state) ->
                check("epoll_ctl", (int) EPOLL_CTL.invokeExact(state, epfd, EPOLL_CTL_DEL, fd, MemorySegment.NULL), state));
    }

    /**
     * {@code epoll_wait}: waits up to {@code timeoutMillis} (-1: no limit) and returns the
     * descriptors (as {@link #epollAdd} registered them) that are ready, at most {@code max};
     * an empty array on timeout or EINTR.
     */
    public static int[] epollWait(int epfd, int max, int timeoutMillis) throws ErrnoException {
        return call((arena, state) -> {
            MemorySegment events = arena.allocate(EPOLL_EVENT_SIZE * max, 8);
            int ready = (int) EPOLL_WAIT.invokeExact(state, epfd, events, max, timeoutMillis);
            if (ready < 0 && errno(state) == EINTR) {
                return new int[0];
            }
            check("epoll_wait", ready, state);
            int[] fds = new int[ready];
            for (int i = 0; i < ready; i++) {
                fds[i] = events.get(JAVA_INT, EPOLL_EVENT_SIZE * i + EPOLL_DATA_OFFSET);
            }
            return fds;
        });
    }

    /** {@code getrlimit(resource)}: {soft, hard}, each {@link #RLIM_INFINITY} when unlimited. */
    public static long[] getrlimit(int resource) throws ErrnoException {
        return call((arena, state) -> {
            MemorySegment limit = arena.allocate(16, 8); // struct rlimit { rlim_t cur; rlim_t max; }
            check("getrlimit", (int) GETRLIMIT.invokeExact(state, resource, limit), state);
            return new long[] {limit.get(JAVA_LONG, 0), limit.get(JAVA_LONG, 8)};
        });
    }

    /**
     * {@code prlimit(pid, resource, {soft, hard}, NULL)}: sets another process's limit (each value
     * {@link #RLIM_INFINITY} for none). Raising a hard limit needs CAP_SYS_RESOURCE (EPERM without);
     * a soft limit above the hard one is EINVAL; a process that is gone is ESRCH.
     */
    public static void prlimit(long pid, int resource, long soft, long hard) throws ErrnoException {
        call((arena, state) -> {
            MemorySegment limit = arena.allocate(16, 8); // struct rlimit { rlim_t cur; rlim_t max; }
            limit.set(JAVA_LONG, 0, soft);
            limit.set(JAVA_LONG, 8, hard);
            return check("prlimit", (int) PRLIMIT.invokeExact(state, (int) pid, resource, limit, MemorySegment.NULL), state);
        });
    }

    /** {@code prlimit(pid, resource, NULL, &old)}: another process's {soft, hard} limit. */
    public static long[] prlimit(long pid, int resource) throws ErrnoException {
        return call((arena, state) -> {
            MemorySegment limit = arena.allocate(16, 8);
            check("prlimit", (int) PRLIMIT.invokeExact(state, (int) pid, resource, MemorySegment.NULL, limit), state);
            return new long[] {limit.get(JAVA_LONG, 0), limit.get(JAVA_LONG, 8)};
        });
    }

    /** A user's ids from the passwd database: {uid, primary gid}, or null when there is no such user. */
    public static int[] userIds(String name) throws ErrnoException {
        return call((arena, state) -> {
            // errno is not cleared by a successful lookup, and "not found" may set several: NULL
            // alone is the answer.
            MemorySegment entry = (MemorySegment) GETPWNAM.invokeExact(state, arena.allocateFrom(name));
            if (entry.equals(MemorySegment.NULL)) {
                return null;
            }
            // struct passwd { char *pw_name; char *pw_passwd; uid_t pw_uid; gid_t pw_gid; ... } (LP64)
            MemorySegment passwd = entry.reinterpret(24);
            return new int[] {passwd.get(JAVA_INT, 16), passwd.get(JAVA_INT, 20)};
        });
    }

    /** A group's id from the group database, or -1 when there is no such group. */
    public static int groupId(String name) throws ErrnoException {
        return call((arena, state) -> {
            MemorySegment entry = (MemorySegment) GETGRNAM.invokeExact(state, arena.allocateFrom(name));
            if (entry.equals(MemorySegment.NULL)) {
                return -1;
            }
            // struct group { char *gr_name; char *gr_passwd; gid_t gr_gid; char **gr_mem; } (LP64)
            return entry.reinterpret(20).get(JAVA_INT, 16);
        });
    }

    /**
     * {@code setgroups(1, {gid})}, {@code setgid(gid)}, {@code setuid(uid)}, in that order (after
     * setuid the others would be refused). glibc applies each to every thread of the process,
     * the JVM's included. A negative id leaves that part as it is.
     */
    public static void dropPrivileges(int uid, int gid) throws ErrnoException {
        call((arena, state) -> {
            if (gid >= 0) {
                check("setgroups", (int) SETGROUPS.invokeExact(state, 1L, arena.allocateFrom(JAVA_INT, gid)), state);
                check("setgid", (int) SETGID.invokeExact(state, gid), state);
            }
            if (uid >= 0) {
                check("setuid", (int) SETUID.invokeExact(state, uid), state);
            }
            return 0;
        });
    }

    /**
     * {@code prctl(PR_SET_NO_NEW_PRIVS, 1)}: from now on no execve of this process or of anything
     * it starts can gain privileges (setuid and setgid bits, file capabilities are ignored). It is
     * inherited across fork and execve and cannot be undone.
     */
    public static void noNewPrivileges() throws ErrnoException {
        prctl("prctl(PR_SET_NO_NEW_PRIVS)", PR_SET_NO_NEW_PRIVS, 1);
    }

    /**
     * {@code prctl(PR_SET_DUMPABLE, 0)}: no core dump, and only a process with CAP_SYS_PTRACE may
     * ptrace this one, take its descriptors (pidfd_getfd) or read its memory and /proc/PID/environ,
     * even under the same user. Not inherited across execve.
     */
    public static void notDumpable() throws ErrnoException {
        prctl("prctl(PR_SET_DUMPABLE)", PR_SET_DUMPABLE, 0);
    }

    /** {@code prctl(PR_GET_NO_NEW_PRIVS)} and {@code prctl(PR_GET_DUMPABLE)}: {noNewPrivs, dumpable}. */
    public static int[] privilegeFlags() throws ErrnoException {
        return new int[] {prctl("prctl(PR_GET_NO_NEW_PRIVS)", PR_GET_NO_NEW_PRIVS, 0),
                prctl("prctl(PR_GET_DUMPABLE)", PR_GET_DUMPABLE, 0)};
    }

    private static int prctl(String name, int option, long argument) throws ErrnoException {
        return call((arena, state) -> check(name, (int) PRCTL.invokeExact(state, option, argument, 0L, 0L, 0L), state));
    }

    /** {uid, gid}: the effective user and group ids of this process. */
    public static int[] effectiveIds() {
        try {
            return new int[] {(int) GETEUID.invokeExact(), (int) GETEGID.invokeExact()};
        } catch (Throwable t) {
            throw new IllegalStateException("geteuid failed unexpectedly", t);
        }
    }

    /** One native call: its body gets a confined arena and the segment errno is captured in. */
    @FunctionalInterface
    private interface Call<T> {
        T run(Arena arena, MemorySegment state) throws Throwable;
    }

    private static <T> T call(Call<T> body) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            return body.run(arena, arena.allocate(CALL_STATE));
        } catch (ErrnoException | Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            // invokeExact declares Throwable; a downcall with the right types throws nothing else.
            throw new IllegalStateException("native call failed unexpectedly", t);
        }
    }

    private static MethodHandle capturing(String name, MemoryLayout result, MemoryLayout... arguments) {
        return capturing(name, FunctionDescriptor.of(result, arguments));
    }

    private static MethodHandle capturing(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        Linker.Option[] all = Arrays.copyOf(options, options.length + 1);
        all[options.length] = Linker.Option.captureCallState("errno");
        return LINKER.downcallHandle(LIBC.findOrThrow(name), descriptor, all);
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static int check(String call, int result, MemorySegment state) throws ErrnoException {
        if (result < 0) {
            int errno = errno(state);
            throw new ErrnoException(call, errno, strerror(errno));
        }
        return result;
    }

    private static String strerror(int errno) {
        try {
            MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
            return text.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }
}
