"""A TCP proxy for fault tests, between Kafka clients and the test broker, that can be cut.

Modes, switched at run time:

- ``pass``: every byte is forwarded both ways;
- ``refuse``: the listener is closed (a new connection is refused) and every open connection
  is reset (RST), as when the broker's host goes down or a firewall rejects;
- ``blackhole``: connections are accepted and kept, but no byte goes through either way (held
  until the mode changes), as when a link silently drops every packet.

Connections whose Kafka ``client.id`` starts with an exempt prefix (``--exempt``) are never
cut: the test's producer keeps writing alerts while the consumer's link is down. The client
id is read from the first request's header (size, api key, version, correlation id, id).

It runs in its own process, so its threads never take the GIL from the client measured::

    python tests/cut_proxy.py --target-port 9092 --exempt fink-test-producer

It listens on 127.0.0.1 (a free port, or ``--port``) and prints ``ready <port>``; each line on
its stdin (``pass``, ``refuse``, ``blackhole``) sets the mode and is answered ``ok <mode>``
once applied. Loopback only. :class:`CutProxy` drives it from a test.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

MODES = ("pass", "refuse", "blackhole")
LOOPBACK = "127.0.0.1"


class Link:
    """One proxied connection: the client's socket and the broker's."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.exempt = False
        self.closed = False


class Proxy:
    """The proxy's state: listener, links and mode (all changed under one condition)."""

    def __init__(self, port: int, target: tuple[str, int], exempt: str) -> None:
        self.port = port
        self.target = target
        self.exempt_prefix = exempt.encode()
        self.mode = "pass"
        self.cond = threading.Condition()
        self.links: set[Link] = set()
        self.listener: socket.socket | None = None

    # --- listener ------------------------------------------------------------------------

    def listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for _ in range(100):  # the old listener's port may take a moment to be free
            try:
                sock.bind((LOOPBACK, self.port))
                break
            except OSError:
                time.sleep(0.02)
        else:
            sock.bind((LOOPBACK, self.port))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        self.listener = sock
        threading.Thread(target=self.accept, args=(sock,), daemon=True).start()

    def unlisten(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
            self.listener.close()
            self.listener = None

    def accept(self, sock: socket.socket) -> None:
        while True:
            try:
                client, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=self.open, args=(client,), daemon=True).start()

    def open(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=2)
        except OSError:  # the broker is down: the client sees its connection reset
            reset(client)
            return
        upstream.settimeout(None)
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = Link(client, upstream)
        with self.cond:
            if self.mode == "refuse":
                reset(client)
                upstream.close()
                return
            self.links.add(link)
        threading.Thread(target=self.pump, args=(link, client, upstream, True), daemon=True).start()
        self.pump(link, upstream, client, False)

    # --- forwarding ----------------------------------------------------------------------

    def flowing(self, link: Link) -> bool:
        return self.mode == "pass" or link.exempt

    def pump(self, link: Link, src: socket.socket, dst: socket.socket, outbound: bool) -> None:
        first = outbound
        try:
            while data := src.recv(1 << 16):
                if first:
                    first = False
                    link.exempt = self.is_exempt(data)
                with self.cond:
                    while not link.closed and not self.flowing(link):
                        self.cond.wait(0.2)
                    if link.closed:
                        return
                dst.sendall(data)
        except OSError:
            pass
        self.drop(link)

    def is_exempt(self, request: bytes) -> bool:
        """Whether the first request's client id has the exempt prefix."""
        if not self.exempt_prefix or len(request) < 14:
            return False
        (size,) = struct.unpack(">h", request[12:14])
        return size > 0 and request[14 : 14 + size].startswith(self.exempt_prefix)

    def drop(self, link: Link, hard: bool = False) -> None:
        with self.cond:
            if link.closed:
                return
            link.closed = True
            self.links.discard(link)
            self.cond.notify_all()
        for sock in (link.client, link.upstream):
            if hard:
                reset(sock)
            else:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    # --- modes ---------------------------------------------------------------------------

    def set_mode(self, mode: str) -> None:
        with self.cond:
            self.mode = mode
            self.cond.notify_all()
            victims = [link for link in self.links if not link.exempt]
        if mode == "refuse":
            self.unlisten()
            for link in victims:
                self.drop(link, hard=True)
        elif self.listener is None:
            self.listen()


def reset(sock: socket.socket) -> None:
    """Close with an RST (and wake any thread blocked reading it)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)
    sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--target-port", type=int, required=True, help="the broker, on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="where to listen (0: a free port)")
    parser.add_argument("--exempt", default="", help="client.id prefix never cut")
    args = parser.parse_args()
    proxy = Proxy(args.port, (LOOPBACK, args.target_port), args.exempt)
    proxy.listen()
    print(f"ready {proxy.port}", flush=True)
    for line in sys.stdin:
        mode = line.strip()
        if mode in MODES:
            proxy.set_mode(mode)
            print(f"ok {mode}", flush=True)
        else:
            print(f"error unknown mode {mode!r}", flush=True)


class CutProxy:
    """The proxy process, driven from a test: ``with CutProxy(broker_port) as proxy: ...``."""

    def __init__(self, target_port: int, *, exempt: str = "", port: int = 0) -> None:
        self.target_port = target_port
        self.exempt = exempt
        self.port = port
        self.mode = "pass"
        self.process: subprocess.Popen[str] | None = None

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def start(self) -> CutProxy:
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--target-port",
                str(self.target_port),
                "--port",
                str(self.port),
                "--exempt",
                self.exempt,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        word, port = self.process.stdout.readline().split()
        assert word == "ready", word
        self.port = int(port)
        return self

    def set(self, mode: str) -> None:
        """Switch mode; returns once the proxy applied it."""
        assert self.process is not None and self.process.stdin and self.process.stdout
        self.process.stdin.write(mode + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        assert answer == f"ok {mode}", answer
        self.mode = mode

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            for stream in (self.process.stdin, self.process.stdout):
                if stream is not None:
                    stream.close()
            self.process = None

    def __enter__(self) -> CutProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


if __name__ == "__main__":
    main()
