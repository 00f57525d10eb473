"""The article's echo server with a process per connection: python3 fork.py HOST PORT.

The server forks a child for each connection, which serves it and exits; the kernel
reaps the children (SIGCHLD ignored), so none is left a zombie.
"""
import os
import signal
import socket
import sys


def handle(conn):
    with conn, conn.makefile("rb") as lines:
        for line in lines:
            if line.strip() == b"done":
                conn.sendall(b"bye!\n")
                break
            conn.sendall(line)


def main(host, port):
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    server = socket.create_server((host, int(port)), backlog=4096)
    while True:
        conn, _ = server.accept()
        if os.fork() == 0:
            server.close()
            try:
                handle(conn)
            finally:
                os._exit(0)
        conn.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
