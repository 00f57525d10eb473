package forkserver.supervisor.listen;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.EnumSet;
import java.util.Set;

/**
 * The file a UNIX-domain listener is bound to, from bind to removal.
 *
 * <p>A file already at the path is a socket left by a supervisor that died without removing it
 * (SIGKILL, a crash), or one that another process serves. Only the first may go: the path is
 * dialled, and only a socket that refuses (ECONNREFUSED: nobody listens) is removed and bound
 * again; one that answers is never taken over, and anything that is not a socket is never
 * removed. At stop the file is removed only while it is still the one we made (same inode):
 * a successor that bound the path since keeps its own.
 */
final class UnixSocketFile {

    private final Path path;
    private final Object fileKey; // (device, inode) of the socket file we made

    private UnixSocketFile(Path path, Object fileKey) {
        this.path = path;
        this.fileKey = fileKey;
    }

    /**
     * Binds {@code fd} to {@code unix}'s path (or abstract name: then there is no file and null
     * is returned) and gives the file its mode and owner. Call before listen(2).
     *
     * @throws IOException one line: the path is served by a live listener, is not a socket,
     *     cannot be bound, or its mode or owner cannot be set
     */
    static UnixSocketFile bind(int fd, ListenAddress.Unix unix) throws IOException {
        if (unix.isAbstract()) {
            Posix.bindUnix(fd, unix.path()); // a live one: EADDRINUSE; nothing left behind by the dead
            return null;
        }
        Path path = Path.of(unix.path());
        removeIfStale(path);
        try {
            Posix.bindUnix(fd, unix.path());
        } catch (ErrnoException e) {
            throw new IOException(unix.path() + ": " + e.reason(), e);
        }
        UnixSocketFile file = new UnixSocketFile(path, attributes(path).fileKey());
        try {
            file.setOwnerAndMode(unix);
        } catch (IOException | RuntimeException e) {
            file.remove();
            throw e;
        }
        return file;
    }

    /**
     * The socket file at {@code path} (an abstract {@code @name}: none, null) that a predecessor
     * made and handed over with its socket at an upgrade: removed at stop as if we had made it.
     */
    static UnixSocketFile adopt(String path) {
        if (path.startsWith("@")) {
            return null;
        }
        try {
            return new UnixSocketFile(Path.of(path), attributes(Path.of(path)).fileKey());
        } catch (IOException e) {
            return null; // gone already: nothing to remove at stop
        }
    }

    /** Removes {@code path} if it is a socket nobody listens on; refuses a live one or another kind of file. */
    private static void removeIfStale(Path path) throws IOException {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        }
        if (!attributes.isOther() || !isSocket(path)) {
            throw new IOException(path + " exists and is not a socket; remove it, or listen elsewhere");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
        } catch (ConnectException e) {
            // ECONNREFUSED: a socket file nobody listens on. Removed, and bound afresh below.
            Files.deleteIfExists(path);
            return;
        } catch (IOException e) {
            throw new IOException(path + ": cannot tell whether another process listens on it: " + e.getMessage(), e);
        }
        throw new IOException(path + " is in use: another process listens on it");
    }

    /** Whether {@code path} is a socket (S_IFSOCK), not a FIFO or a device, which are "other" too. */
    private static boolean isSocket(Path path) throws IOException {
        int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        return (mode & S_IFMT) == S_IFSOCK;
    }

    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private void setOwnerAndMode(ListenAddress.Unix unix) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(path, PosixFileAttributeView.class);
        UserPrincipalLookupService names = FileSystems.getDefault().getUserPrincipalLookupService();
        try {
            if (unix.owner() != null) {
                UserPrincipal owner = names.lookupPrincipalByName(unix.owner());
                view.setOwner(owner);
            }
            if (unix.group() != null) {
                GroupPrincipal group = names.lookupPrincipalByGroupName(unix.group());
                view.setGroup(group);
            }
        } catch (UserPrincipalNotFoundException e) {
            throw new IOException(unix.path() + ": no such " + (unix.owner() != null
                    && e.getName().equals(unix.owner()) ? "user" : "group") + " '" + e.getName() + "'", e);
        } catch (IOException e) {
            throw new IOException(unix.path() + ": cannot set its owner: " + e.getMessage(), e);
        }
        if (unix.mode() >= 0) {
            view.setPermissions(permissions(unix.mode()));
        }
    }

    /** The permission bits of {@code mode} (0 to 0777). */
    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = PosixFilePermission.values(); // OWNER_READ ... OTHERS_EXECUTE: 0400 down to 01
        for (int i = 0; i < bits.length; i++) {
            if ((mode & (0400 >> i)) != 0) {
                set.add(bits[i]);
            }
        }
        return set;
    }

    /** Removes the file, if it is still the one we made. Quietly: at stop nothing else is left to do. */
    void remove() {
        try {
            if (fileKey.equals(attributes(path).fileKey())) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            // Gone already, or the directory is not ours to write any more (after --user): the next
            // supervisor finds it stale and replaces it.
        }
    }

    private static BasicFileAttributes attributes(Path path) throws IOException {
        return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    }
}
