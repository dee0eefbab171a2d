#!/usr/bin/env python3
"""bench/lib/idle_clients.py: hold many idle TLS connections open through a proxy.

    idle_clients.py PORT COUNT MODE CA CERT KEY

Opens COUNT TLS connections to 127.0.0.1:PORT presenting the client certificate (SNI localhost),
makes one request on each and keeps it open: MODE "ka" sends `GET / HTTP/1.1` and reads the whole
response (an idle keep-alive connection afterwards), MODE "ws" sends a WebSocket upgrade for /ws and
reads the 101 (an idle WebSocket afterwards, as a phone holds Vaultwarden's notification hub).
The first connection makes a full handshake; the others resume its TLS session, as a phone
reconnecting does, which keeps the generator's own CPU low enough to open 10,000 connections in
reasonable time on a small machine (the proxy holds a resumed connection like any other).
Prints "open N failed F resumed R" once every attempt is done, then waits until its stdin closes
(or a line arrives), closes everything and exits. Standard library only.
"""
import asyncio
import ssl
import sys

IN_FLIGHT = 128   # connections being opened at once


class ResumingContext(ssl.SSLContext):
    """asyncio gives no way to pass a session; its SSL protocol calls wrap_bio, which can."""
    session = None

    def wrap_bio(self, incoming, outgoing, server_side=False, server_hostname=None, session=None):
        return super().wrap_bio(incoming, outgoing, server_side, server_hostname, session or self.session)


async def main():
    port, count, mode, ca, cert, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
    ctx = ResumingContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=ca)
    ctx.load_cert_chain(cert, key)
    if mode == "ws":
        request = (b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        expect = b" 101 "
    else:
        request = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
        expect = b" 200 "
    held, failed, resumed = [], 0, 0
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one():
        nonlocal failed, resumed
        async with gate:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost"), 60)
                writer.write(request)
                await writer.drain()
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
                if expect not in head.split(b"\r\n", 1)[0]:
                    raise ValueError(head[:60])
                if mode == "ka":
                    length = 0
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":", 1)[1])
                    if length:
                        await asyncio.wait_for(reader.readexactly(length), 60)
                held.append(writer)
                tls = writer.get_extra_info("ssl_object")
                if tls.session_reused:
                    resumed += 1
                elif ctx.session is None and tls.session is not None:
                    ctx.session = tls.session   # after the response: TLS 1.3 tickets come after the handshake
            except Exception as e:  # noqa: BLE001 - counted and reported, the run goes on
                failed += 1
                if failed <= 3:
                    print(f"connection failed: {e!r}", file=sys.stderr, flush=True)

    if count > 0:
        await one()   # the full handshake whose session the others resume
    await asyncio.gather(*(one() for _ in range(count - 1)))
    print(f"open {len(held)} failed {failed} resumed {resumed}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    for w in held:
        w.transport.abort()


asyncio.run(main())
