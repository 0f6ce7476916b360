"""The load harness of the service-against-a-peer benches (helpers only; no bench here).

One place for what ``bench/api_bench.py`` (against pygeoapi) and ``bench/postgis_api_bench.py``
(against tipg) both do once their servers answer: a closed-loop load generator (an asyncio
HTTP/1.1 keep-alive client, ``connections`` concurrent connections, no compression) sends each
query's requests for ``seconds`` and records every latency; :func:`compare` runs every query on
both servers at each number of connections and prints one table, :func:`print_ratios` the
ratios to the peer. Starting and stopping the servers is :mod:`server_helpers` (``tests/``,
put on ``sys.path`` here as in the benches), shared with the tests. Each bench keeps what is
its own: the data, the servers and the paths of its queries.

Example (the peer on ``peer``, our service on ``ours``, both answering)::

    queries = [Query("(b) municipalities", ["/collections/municipalities/items"],
                     ["/collections/bench.municipalities/items"])]
    print_ratios(compare(queries, ours, peer, "tipg", seconds=8, connections=[4, 16]), "tipg")
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the one server-start helper, shared with the tests
from server_helpers import LOOPBACK, serve_command, serving  # noqa: E402


@contextlib.contextmanager
def serving_both(
    ours: tuple[int, Mapping[str, str]],
    peer: tuple[str, int, str, Mapping[str, str]],
    folder: Path,
) -> Iterator[None]:
    """Our service on ``ours`` (port, environment) and the peer's ASGI app on ``peer`` (app,
    port, the path that answers once it is up, environment), both run from ``folder``,
    until the block ends."""
    ours_port, ours_env = ours
    app, peer_port, probe, peer_env = peer
    with (
        serving(
            serve_command(ours_port),
            f"http://127.0.0.1:{ours_port}/healthz",
            dict(ours_env),
            timeout=120,
            cwd=folder,
        ),
        serving(
            uvicorn_command(app, peer_port),
            f"http://127.0.0.1:{peer_port}{probe}",
            dict(peer_env),
            timeout=120,
            cwd=folder,
        ),
    ):
        yield


@dataclass
class Result:
    """What one load run saw: requests answered, over how long, and each one's latency."""

    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    bytes_read: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def non_200(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile latency, in milliseconds."""
        return float(np.percentile(self.latencies, q)) * 1000


async def _one_connection(
    port: int, paths: list[str], start: int, until: float, out: Result
) -> None:
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    i = start
    try:
        while time.perf_counter() < until:
            path = paths[i % len(paths)]
            i += 1
            t0 = time.perf_counter()
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\n"
                "Accept: application/geo+json, application/json\r\n\r\n".encode()
            )
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {
                k.lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            if "content-length" in headers:
                body = await reader.readexactly(int(headers["content-length"]))
            else:  # chunked
                chunks = []
                while True:
                    size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                    chunk = await reader.readexactly(size + 2)
                    if size == 0:
                        break
                    chunks.append(chunk[:-2])
                body = b"".join(chunks)
            out.latencies.append(time.perf_counter() - t0)
            out.statuses[status] = out.statuses.get(status, 0) + 1
            out.bytes_read += len(body)
            out.requests += 1
    finally:
        writer.close()


def load(port: int, paths: list[str], seconds: float, connections: int) -> Result:
    """Send ``paths`` (cycled) over ``connections`` keep-alive connections for ``seconds``."""
    result = Result()

    async def main() -> None:
        # Warm up: one pass so that first-request costs (imports, file cache) are not timed.
        await _one_connection(port, paths[:3], 0, time.perf_counter() + 0.5, Result())
        t0 = time.perf_counter()
        until = t0 + seconds
        await asyncio.gather(
            *(_one_connection(port, paths, k * 17, until, result) for k in range(connections))
        )
        result.seconds = time.perf_counter() - t0

    asyncio.run(main())
    return result


def uvicorn_command(app: str, port: int) -> list[str]:
    """A peer's ASGI ``app`` (``module:attribute``) under uvicorn on 127.0.0.1:``port``, one
    worker, warnings only: the way ``tsunagari-geo serve`` runs in the benches."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def bbox_paths(collection: str, boxes: list[tuple[float, ...]], **params: str | int) -> list[str]:
    """Items of ``collection`` in each of ``boxes`` (up to 1,000 features), plus ``params``."""
    return [
        f"/collections/{collection}/items?"
        + urlencode({"bbox": ",".join(map(str, b)), "limit": 1000, **params})
        for b in boxes
    ]


@dataclass(frozen=True)
class Query:
    """One query of a comparison: the same request spelled for our service and for the peer."""

    label: str
    ours: list[str]
    peer: list[str]


@dataclass(frozen=True)
class Comparison:
    """One query at one number of connections, on both servers."""

    label: str
    connections: int
    ours: Result
    peer: Result

    @property
    def rps_ratio(self) -> float:
        return self.ours.rps / self.peer.rps

    @property
    def p99_ratio(self) -> float:
        return self.ours.percentile(99) / self.peer.percentile(99)


def compare(
    queries: Sequence[Query],
    ours_port: int,
    peer_port: int,
    peer_name: str,
    *,
    seconds: float,
    connections: Sequence[int],
) -> list[Comparison]:
    """Load every query on our server, then on the peer's, at each number of connections.

    Prints a row per run (requests per second, p50 and p99 in ms, MB/s read, non-200 answers)
    and returns the runs paired, in the order they ran.
    """
    width = max(len(q.label) for q in queries)
    server = max(len(peer_name), 6)
    print(
        f"{'query':{width}} {'conns':>5} {'server':{server}} {'req/s':>8} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'MB/s':>7} {'non-200':>8}"
    )
    out = []
    for n in connections:
        for query in queries:
            results = {}
            for name, port, paths in (
                ("ours", ours_port, query.ours),
                (peer_name, peer_port, query.peer),
            ):
                r = load(port, paths, seconds, n)
                results[name] = r
                print(
                    f"{query.label:{width}} {n:5d} {name:{server}} {r.rps:8.1f} "
                    f"{r.percentile(50):8.1f} {r.percentile(99):8.1f} "
                    f"{r.bytes_read / r.seconds / 1e6:7.1f} {r.non_200:8d}"
                )
            out.append(Comparison(query.label, n, results["ours"], results[peer_name]))
    return out


def print_ratios(comparisons: Sequence[Comparison], peer_name: str) -> None:
    """A line per comparison: our requests per second and p99 as multiples of the peer's."""
    print()
    for c in comparisons:
        print(
            f"{c.label}, {c.connections} connections: {c.rps_ratio:.2f}x {peer_name}'s requests "
            f"per second; our p99 {c.ours.percentile(99):.1f} ms, {c.p99_ratio:.2g}x {peer_name}'s"
        )
