package forkserver.supervisor.listen;

import forkserver.supervisor.base.HostPort;

import java.net.InetSocketAddress;

/**
 * One {@code -l/--listen} as the command line writes it: {@code HOST:PORT} (IPv6 in brackets),
 * {@code unix:PATH}, or {@code unix:@NAME} in Linux's abstract namespace; then, after commas, the
 * listener's own settings: {@code name=NAME} (what its children read in
 * {@code FORKSERVER_LISTENER}), and for a socket file {@code mode=0660}, {@code owner=USER},
 * {@code group=GROUP}. The settings go with the address because each UNIX socket usually has
 * its own readers: one supervisor may serve a world-writable socket and an admin-only one.
 */
public sealed interface ListenAddress {

    /** A TCP address; port 0 picks a free port. {@code name} is null when none was given. */
    record Tcp(InetSocketAddress address, String name) implements ListenAddress {
    }

    /**
     * A UNIX-domain stream socket: a path, or {@code @name} (abstract: no file, so no mode or
     * owner). {@code mode} is -1, {@code owner} and {@code group} null, to leave what bind(2)
     * makes (the umask's mode, the supervisor's user).
     */
    record Unix(String path, String name, int mode, String owner, String group) implements ListenAddress {

        public boolean isAbstract() {
            return path.startsWith("@");
        }
    }

    /** The prefix of a UNIX-domain address. */
    String UNIX_PREFIX = "unix:";

    /** The address as messages write it: {@code 127.0.0.1:9090}, {@code [::1]:0}, {@code unix:PATH}. */
    default String text() {
        return switch (this) {
            case Tcp tcp -> HostPort.format(tcp.address());
            case Unix unix -> UNIX_PREFIX + unix.path();
        };
    }

    /**
     * Parses one {@code --listen} value.
     *
     * @throws IllegalArgumentException with a message fit for one usage line
     */
    static ListenAddress parse(String text) {
        String[] parts = text.split(",", -1);
        String address = parts[0];
        String name = null;
        int mode = -1;
        String owner = null;
        String group = null;
        for (int i = 1; i < parts.length; i++) {
            int equals = parts[i].indexOf('=');
            String key = equals < 0 ? parts[i] : parts[i].substring(0, equals);
            String value = equals < 0 ? "" : parts[i].substring(equals + 1);
            if (value.isEmpty()) {
                throw new IllegalArgumentException("expected KEY=VALUE after the address (name=, mode=, owner=,"
                        + " group=), got '" + parts[i] + "' in '" + text + "'");
            }
            switch (key) {
                case "name" -> name = value;
                case "mode" -> mode = mode(value);
                case "owner" -> owner = value;
                case "group" -> group = value;
                default -> throw new IllegalArgumentException("unknown listener setting '" + key + "' in '" + text
                        + "' (name, mode, owner, group)");
            }
        }
        if (!address.startsWith(UNIX_PREFIX)) {
            if (mode >= 0 || owner != null || group != null) {
                throw new IllegalArgumentException("mode=, owner= and group= are for a unix: socket file, not '"
                        + address + "'");
            }
            return new Tcp(HostPort.parse(address), name);
        }
        String path = address.substring(UNIX_PREFIX.length());
        if (path.isEmpty() || path.equals("@")) {
            throw new IllegalArgumentException("expected unix:PATH or unix:@NAME, got '" + address + "'");
        }
        if (path.getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= 108) {
            throw new IllegalArgumentException("a UNIX socket's path is at most 107 bytes (sun_path), got '" + path + "'");
        }
        if (path.startsWith("@") && (mode >= 0 || owner != null || group != null)) {
            throw new IllegalArgumentException("an abstract socket (" + address + ") has no file: no mode=, owner= or group=");
        }
        if (!path.startsWith("@") && !path.startsWith("/")) {
            path = java.nio.file.Path.of(path).toAbsolutePath().toString(); // the log and IPCLOCALPATH say where
        }
        return new Unix(path, name, mode, owner, group);
    }

    private static int mode(String text) {
        int mode;
        try {
            mode = Integer.parseInt(text, 8);
        } catch (NumberFormatException e) {
            mode = -1;
        }
        if (mode < 0 || mode > 0777) {
            throw new IllegalArgumentException("mode= must be octal permissions from 0 to 0777 (e.g. 0660), got '"
                    + text + "'");
        }
        return mode;
    }
}
