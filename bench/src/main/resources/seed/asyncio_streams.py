"""The article's echo server with asyncio coroutines: python3 asyncio_streams.py HOST PORT.

One thread, one coroutine per connection, awaiting its next line.
"""
import asyncio
import sys


async def handle(reader, writer):
    try:
        while line := await reader.readline():
            if line.strip() == b"done":
                writer.write(b"bye!\n")
                break
            writer.write(line)
            await writer.drain()
        await writer.drain()
    finally:
        writer.close()


async def main(host, port):
    # A line may be longer than asyncio's 64 KiB default before readline gives up.
    server = await asyncio.start_server(handle, host, int(port), backlog=4096, limit=1 << 20)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
