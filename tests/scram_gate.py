"""A SCRAM-SHA-512 gate in front of the test broker, to test passwords against a real peer.

tansu can require SASL, but its in-memory storage cannot be given a user (DESIGN.md), so this
gate does the authentication itself, as a Kafka broker would: before login it forwards
ApiVersions to the broker and answers SaslHandshake and SaslAuthenticate with a real
SCRAM-SHA-512 server exchange (RFC 5802/7677); a wrong password gets Kafka's
SASL_AUTHENTICATION_FAILED. After a good login it pipes bytes both ways, so the broker must
advertise the gate's address.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import struct
import threading
from typing import Any

MECHANISM = "SCRAM-SHA-512"
SASL_AUTHENTICATION_FAILED = 58
UNSUPPORTED_SASL_MECHANISM = 33
ILLEGAL_SASL_STATE = 34
API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE = 18, 17, 36


def read_uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def write_uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def skip_tags(buf: bytes, pos: int) -> int:
    count, pos = read_uvarint(buf, pos)
    for _ in range(count):
        _, pos = read_uvarint(buf, pos)
        size, pos = read_uvarint(buf, pos)
        pos += size
    return pos


class ScramServer:
    """The server side of one SCRAM-SHA-512 exchange."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users
        self.step = 0
        self.ok = False

    def feed(self, message: bytes) -> tuple[int, str | None, bytes]:
        """(error code, error message, server bytes) for a client message."""
        text = message.decode()
        if self.step == 0:
            self.step = 1
            _, _, bare = text.partition(",,")
            attrs = dict(kv.split("=", 1) for kv in bare.split(",") if "=" in kv)
            self.client_first_bare = bare
            self.nonce = attrs.get("r", "") + base64.b64encode(os.urandom(18)).decode()
            password = self.users.get(attrs.get("n", ""))
            self.known = password is not None
            salt, iterations = os.urandom(16), 4096
            self.salted = hashlib.pbkdf2_hmac(
                "sha512", (password or os.urandom(8).hex()).encode(), salt, iterations
            )
            self.server_first = f"r={self.nonce},s={base64.b64encode(salt).decode()},i={iterations}"
            return 0, None, self.server_first.encode()
        if self.step == 1:
            self.step = 2
            without_proof, _, proof = text.rpartition(",p=")
            attrs = dict(kv.split("=", 1) for kv in without_proof.split(",") if "=" in kv)
            auth = f"{self.client_first_bare},{self.server_first},{without_proof}".encode()
            client_key = hmac.new(self.salted, b"Client Key", hashlib.sha512).digest()
            stored_key = hashlib.sha512(client_key).digest()
            signature = hmac.new(stored_key, auth, hashlib.sha512).digest()
            try:
                recovered = bytes(
                    a ^ b for a, b in zip(base64.b64decode(proof), signature, strict=False)
                )
            except ValueError:
                recovered = b""
            if (
                self.known
                and attrs.get("r") == self.nonce
                and hmac.compare_digest(hashlib.sha512(recovered).digest(), stored_key)
            ):
                self.ok = True
                server_key = hmac.new(self.salted, b"Server Key", hashlib.sha512).digest()
                verifier = hmac.new(server_key, auth, hashlib.sha512).digest()
                return 0, None, f"v={base64.b64encode(verifier).decode()}".encode()
            return (
                SASL_AUTHENTICATION_FAILED,
                "Authentication failed during authentication due to invalid credentials "
                f"with SASL mechanism {MECHANISM}",
                b"",
            )
        return ILLEGAL_SASL_STATE, "unexpected SASL message", b""


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    size = struct.unpack(">i", await reader.readexactly(4))[0]
    return await reader.readexactly(size)


def write_frame(writer: asyncio.StreamWriter, payload: bytes) -> None:
    writer.write(struct.pack(">i", len(payload)) + payload)


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


def authenticate_response(
    request: bytes, version: int, scram: ScramServer, correlation: int
) -> tuple[int, bytes]:
    """Answer a SaslAuthenticate request (versions 0 to 2)."""
    client_id_len = struct.unpack(">h", request[8:10])[0]
    pos = 10 + max(client_id_len, 0)
    if version >= 2:
        pos = skip_tags(request, pos)
        n, pos = read_uvarint(request, pos)
        data = request[pos : pos + n - 1]
    else:
        n = struct.unpack(">i", request[pos : pos + 4])[0]
        data = request[pos + 4 : pos + 4 + n]
    error, message, out = scram.feed(data)
    if version >= 2:
        text = b"\x00" if message is None else write_uvarint(len(message) + 1) + message.encode()
        body = (
            struct.pack(">i", correlation)
            + b"\x00"
            + struct.pack(">h", error)
            + text
            + write_uvarint(len(out) + 1)
            + out
            + struct.pack(">q", 0)
            + b"\x00"
        )
    else:
        text = (
            struct.pack(">h", -1)
            if message is None
            else struct.pack(">h", len(message)) + message.encode()
        )
        body = struct.pack(">ih", correlation, error) + text + struct.pack(">i", len(out)) + out
        if version >= 1:
            body += struct.pack(">q", 0)
    return error, body


class ScramGate:
    """Listens on a loopback port; use ``start()`` then ``stop()``."""

    def __init__(self, users: dict[str, str], backend_port: int = 0) -> None:
        self.users = dict(users)
        self.backend_port = backend_port
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._run, name="scram-gate", daemon=True)
        self._server: Any = None

    def start(self) -> ScramGate:
        self._thread.start()
        self._ready.wait(5)
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._server = self.loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            await asyncio.sleep(0)
            self.loop.stop()

        asyncio.run_coroutine_threadsafe(close(), self.loop)
        self._thread.join(5)

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        broker_r: asyncio.StreamReader | None = None
        broker_w: asyncio.StreamWriter | None = None
        scram = ScramServer(self.users)
        self._writers.add(client_w)
        try:
            while True:
                request = await read_frame(client_r)
                api_key, version, correlation = struct.unpack(">hhi", request[:8])
                if api_key == API_VERSIONS:
                    if broker_w is None:
                        broker_r, broker_w = await asyncio.open_connection(
                            "127.0.0.1", self.backend_port
                        )
                    assert broker_r is not None
                    write_frame(broker_w, request)
                    await broker_w.drain()
                    write_frame(client_w, await read_frame(broker_r))
                elif api_key == SASL_HANDSHAKE:
                    client_id_len = struct.unpack(">h", request[8:10])[0]
                    pos = 10 + max(client_id_len, 0)
                    size = struct.unpack(">h", request[pos : pos + 2])[0]
                    mechanism = request[pos + 2 : pos + 2 + size].decode()
                    error = 0 if mechanism == MECHANISM else UNSUPPORTED_SASL_MECHANISM
                    name = MECHANISM.encode()
                    write_frame(
                        client_w,
                        struct.pack(">ihi", correlation, error, 1)
                        + struct.pack(">h", len(name))
                        + name,
                    )
                elif api_key == SASL_AUTHENTICATE:
                    error, body = authenticate_response(request, version, scram, correlation)
                    write_frame(client_w, body)
                    await client_w.drain()
                    if error:
                        break
                    if scram.ok:
                        if broker_w is None:
                            broker_r, broker_w = await asyncio.open_connection(
                                "127.0.0.1", self.backend_port
                            )
                        assert broker_r is not None
                        await asyncio.gather(pipe(client_r, broker_w), pipe(broker_r, client_w))
                        return
                else:  # anything else before authentication is dropped, as Kafka does
                    break
                await client_w.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(client_w)
            client_w.close()
            if broker_w is not None:
                broker_w.close()
