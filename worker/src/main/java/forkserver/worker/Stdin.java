package forkserver.worker;

import java.io.IOException;
import java.nio.channels.Channel;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/** Says what fd 0 is when it is not a connection. Only loaded on that error path. */
final class Stdin {

    private Stdin() {
    }

    static String describe(Channel inherited) {
        if (inherited instanceof ServerSocketChannel) {
            return "a listening socket (inetd 'wait' or systemd Accept=no: configure 'nowait' or"
                    + " Accept=yes for the worker, or give the socket to bin/supervisor)";
        }
        if (inherited instanceof DatagramChannel) {
            return "a datagram socket";
        }
        if (inherited instanceof SocketChannel) {
            return "an unconnected socket";
        }
        String target;
        try {
            target = Files.readSymbolicLink(Path.of("/proc/self/fd/0")).toString();
        } catch (IOException | UnsupportedOperationException e) {
            return "closed or unreadable";
        }
        if (target.startsWith("pipe:")) {
            return "a pipe";
        }
        if (target.startsWith("socket:")) {
            return "a socket of another kind";
        }
        if (target.startsWith("/dev/pts/") || target.startsWith("/dev/tty")) {
            return "a terminal (" + target + ")";
        }
        return target.equals("/dev/null") ? "/dev/null" : "the file " + target;
    }
}
