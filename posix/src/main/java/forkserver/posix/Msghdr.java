package forkserver.posix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@code struct msghdr} with one {@code struct iovec} and room for one {@code SCM_RIGHTS}
 * descriptor, for {@link Posix#sendFd} and {@link Posix#receiveFd} (Linux, LP64).
 *
 * <pre>
 * msghdr:  void *name | u32 namelen, pad | iovec *iov | size_t iovlen | void *control | size_t controllen | int flags, pad  (56)
 * iovec:   void *base | size_t len                                                                                        (16)
 * cmsghdr: size_t len | int level | int type | int fd, pad        CMSG_LEN(4) = 20, CMSG_SPACE(4) = 24
 * </pre>
 */
final class Msghdr {

    /** {@code CMSG_SPACE(sizeof(int))}: the control buffer for one descriptor. */
    static final long RIGHTS_SPACE = 24;
    private static final long RIGHTS_LENGTH = 20; // CMSG_LEN(sizeof(int))
    private static final long SIZE = 56;

    private Msghdr() {
    }

    /** A message whose data is {@code body} and whose control buffer is {@code control}. */
    static MemorySegment allocate(Arena arena, MemorySegment body, MemorySegment control) {
        MemorySegment iovec = arena.allocate(16, 8);
        iovec.set(ADDRESS, 0, body);
        iovec.set(JAVA_LONG, 8, body.byteSize());
        MemorySegment message = arena.allocate(SIZE, 8);
        message.set(ADDRESS, 16, iovec);
        message.set(JAVA_LONG, 24, 1L);
        message.set(ADDRESS, 32, control);
        message.set(JAVA_LONG, 40, control.byteSize());
        return message;
    }

    /** A control buffer carrying {@code fd} as {@code SOL_SOCKET/SCM_RIGHTS}. */
    static MemorySegment rights(Arena arena, int fd) {
        MemorySegment control = arena.allocate(RIGHTS_SPACE, 8);
        control.set(JAVA_LONG, 0, RIGHTS_LENGTH);
        control.set(JAVA_INT, 8, Posix.SOL_SOCKET);
        control.set(JAVA_INT, 12, Posix.SCM_RIGHTS);
        control.set(JAVA_INT, 16, fd);
        return control;
    }

    /** The descriptor a received message carried, or -1 (recvmsg set controllen to what came). */
    static int receivedFd(MemorySegment message, MemorySegment control) {
        long length = message.get(JAVA_LONG, 40);
        if (length < RIGHTS_LENGTH || control.get(JAVA_INT, 8) != Posix.SOL_SOCKET
                || control.get(JAVA_INT, 12) != Posix.SCM_RIGHTS) {
            return -1;
        }
        return control.get(JAVA_INT, 16);
    }

    /** The flags recvmsg set ({@code MSG_TRUNC}, {@code MSG_CTRUNC}). */
    static int flags(MemorySegment message) {
        return message.get(JAVA_INT, 48);
    }
}
