/*
 * The worker's echo protocol as a tiny native program, for the process-native, tcpserver and
 * systemd models: the cost of a process without the cost of a JVM. The connection is fd 0
 * (input) and fd 1 (output), as tcpserver, systemd --inetd and bin/supervisor --stdio inout give it.
 *
 * Lines come back unchanged; a line that is "done" once trimmed (bytes up to space, as Java's
 * String.trim) is answered with "bye!" and ends the session; end of input ends it too, after
 * echoing a last line that had no newline. A line longer than the buffer is echoed in pieces.
 *
 * Compiled by bin/bench at bench time: cc -O2 -o target/bench-echo echo.c
 */
#include <string.h>
#include <unistd.h>

static int write_all(const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(1, p, n);
        if (w < 0) return -1;
        p += w;
        n -= (size_t) w;
    }
    return 0;
}

static int is_done(const char *line, size_t n) {
    size_t i = 0;
    while (i < n && (unsigned char) line[i] <= ' ') i++;
    while (n > i && (unsigned char) line[n - 1] <= ' ') n--;
    return n - i == 4 && memcmp(line + i, "done", 4) == 0;
}

int main(void) {
    char in[8192], line[8192];
    size_t held = 0;   /* bytes of the current line in line[] */
    int mid_line = 0;  /* the current line was too long: it cannot be "done" */
    ssize_t r;
    while ((r = read(0, in, sizeof in)) > 0) {
        for (ssize_t i = 0; i < r; i++) {
            line[held++] = in[i];
            if (in[i] == '\n') {
                if (!mid_line && is_done(line, held)) return write_all("bye!\n", 5) < 0;
                if (write_all(line, held) < 0) return 1;
                held = 0;
                mid_line = 0;
            } else if (held == sizeof line) {
                if (write_all(line, held) < 0) return 1;
                held = 0;
                mid_line = 1;
            }
        }
    }
    return write_all(line, held) < 0 || r < 0;
}
