"""The article's echo server with a thread per connection: python3 thread.py HOST PORT.

Each line comes back as it was sent; a line that is "done" once stripped is answered
with "bye!" and ends the connection; so does the end of the client's input.
"""
import socket
import sys
import threading


def handle(conn):
    with conn, conn.makefile("rb") as lines:
        for line in lines:
            if line.strip() == b"done":
                conn.sendall(b"bye!\n")
                break
            conn.sendall(line)


def main(host, port):
    server = socket.create_server((host, int(port)), backlog=4096)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main(*sys.argv[1:])
