package forkserver.posix;

import java.io.IOException;

/** A failed system call: its name and errno, with the C library's text for the errno. */
public final class ErrnoException extends IOException {

    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;

    public ErrnoException(String call, int errno, String text) {
        super(call + ": " + text + " (errno " + errno + ")");
        this.call = call;
        this.errno = errno;
    }

    public String call() {
        return call;
    }

    public int errno() {
        return errno;
    }

    /** The errno's name, {@code EAGAIN}: what a one-line reason in the log says. */
    public String name() {
        return Errno.name(errno);
    }

    /** The C library's text alone, for one-line messages ("Address already in use"). */
    public String reason() {
        String message = getMessage();
        return message.substring(call.length() + 2, message.lastIndexOf(" (errno "));
    }
}
