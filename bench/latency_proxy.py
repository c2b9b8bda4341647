"""A userspace TCP proxy that delays every forwarded chunk by a fixed one-way delay.

A stand-in for ``tc qdisc ... netem delay`` (not available on the benchmark machine): each
chunk read from one side is written to the other ``one_way_ms`` after it arrived, in order,
so the round trip through the proxy grows by twice that while throughput is not capped
(chunks in flight overlap). Run as a script in its own process, so its threads never share
a GIL with the client being measured::

    python bench/latency_proxy.py --target-port 9092 --one-way-ms 0.5

It listens on a free port of 127.0.0.1, prints that port on one line, and serves until killed.
A line written to its stdin sets a new one-way delay in ms (for calibration: the proxy's own
thread hops and sleep overshoot add ~0.1-0.3 ms to the round trip on a busy 2-core machine).
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import socket
import sys
import threading
import time

DELAY = [0.0]
"""The one-way delay in seconds, changed by lines on stdin."""


def forward(src: socket.socket, dst: socket.socket) -> None:
    """Copy ``src`` to ``dst``, each chunk ``DELAY`` seconds after it was read."""
    chunks: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()

    def write() -> None:
        with contextlib.suppress(OSError):
            while True:
                due, data = chunks.get()
                if not data:
                    break
                if (wait := due - time.perf_counter()) > 0:
                    time.sleep(wait)
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    with contextlib.suppress(OSError):
        while data := src.recv(1 << 16):
            chunks.put((time.perf_counter() + DELAY[0], data))
    chunks.put((0.0, b""))
    writer.join()


def serve_one(client: socket.socket, target: tuple[str, int]) -> None:
    """Both directions of one connection; both sockets closed when both are done."""
    with contextlib.suppress(OSError), client, socket.create_connection(target) as upstream:
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        back = threading.Thread(target=forward, args=(upstream, client), daemon=True)
        back.start()
        forward(client, upstream)
        back.join()


def read_delays() -> None:
    """Each line on stdin: the new one-way delay in ms."""
    for line in sys.stdin:
        with contextlib.suppress(ValueError):
            DELAY[0] = max(float(line), 0.0) / 1000


def main() -> None:
    """Listen, print the port, and proxy every connection in its own threads."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--target-port", type=int, required=True, help="on 127.0.0.1")
    parser.add_argument("--one-way-ms", type=float, default=0.5)
    args = parser.parse_args()
    DELAY[0] = args.one_way_ms / 1000
    threading.Thread(target=read_delays, daemon=True).start()
    with socket.create_server(("127.0.0.1", 0)) as server:
        print(server.getsockname()[1], flush=True)
        while True:
            client, _ = server.accept()
            target = ("127.0.0.1", args.target_port)
            threading.Thread(target=serve_one, args=(client, target), daemon=True).start()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
    sys.exit(0)
