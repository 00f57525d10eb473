"""The article's echo server with callbacks on an epoll loop: python3 callback.py HOST PORT.

One thread; the selector calls back accept() when the listening socket is readable and
readable() or writable() for a connection. What the peer does not take at once waits in
that connection's buffer until the socket is writable again.
"""
import selectors
import socket
import sys

selector = selectors.DefaultSelector()


class Connection:
    def __init__(self, conn):
        self.conn = conn
        self.line = b""       # the start of a line not yet ended
        self.out = b""        # echoed bytes the socket has not taken yet
        self.closing = False  # after "bye!" or the end of input: close once out is sent
        conn.setblocking(False)
        selector.register(conn, selectors.EVENT_READ, self.readable)

    def readable(self):
        data = self.conn.recv(65536)
        if not data:
            self.send(self.line, closing=True)
            return
        self.line += data
        while b"\n" in self.line:
            line, self.line = self.line.split(b"\n", 1)
            if line.strip() == b"done":
                self.send(b"bye!\n", closing=True)
                return
            self.out += line + b"\n"
        self.send(b"")

    def send(self, data, closing=False):
        self.out += data
        self.closing = self.closing or closing
        if self.out:
            try:
                self.out = self.out[self.conn.send(self.out):]
            except BlockingIOError:
                pass
        if self.out:
            selector.modify(self.conn, selectors.EVENT_WRITE, self.writable)
        elif self.closing:
            selector.unregister(self.conn)
            self.conn.close()

    def writable(self):
        self.send(b"")
        if not self.out and not self.closing:
            selector.modify(self.conn, selectors.EVENT_READ, self.readable)


def accept(server):
    conn, _ = server.accept()
    Connection(conn)


def main(host, port):
    server = socket.create_server((host, int(port)), backlog=4096)
    server.setblocking(False)
    selector.register(server, selectors.EVENT_READ, lambda: accept(server))
    while True:
        for key, _ in selector.select():
            key.data()


if __name__ == "__main__":
    main(*sys.argv[1:])
