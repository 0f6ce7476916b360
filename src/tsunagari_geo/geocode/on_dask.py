"""The batch job's chunks read on a Dask cluster (``tsunagari-geo geocode … --dask``).

The client does everything :class:`~tsunagari_geo.geocode.batch.BatchJob` does: reads the
input, keeps the journal, assembles the rows in input order and writes the output and the
failures file through the same writer. Only the reading of chunks moves: each chunk missing
from the journal (the partition is the journal's chunk, so a killed run resumes from the same
files, with or without Dask) is one task carrying its rows' addresses and ids. A worker
process opens the store at the job's location itself and builds its
:class:`~tsunagari_geo.geocode.core.Geocoder` once (:func:`_worker_reader`), so no task
carries the dictionary; the overrides are sent to every worker once. The cells are those of
:class:`~tsunagari_geo.geocode.batch.RowReader`, the single process's own, so the output is
the same, byte for byte.

At most a few chunks per worker thread are in flight, so a million rows never sit on the
cluster at once, and each finished chunk is journalled as it arrives (in any order).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from tsunagari_geo.cluster import store_location, worker_store
from tsunagari_geo.geocode.batch import ChunkTask, RowReader, RowRules
from tsunagari_geo.geocode.core import Geocoder

if TYPE_CHECKING:
    from distributed import Client, Future

    from tsunagari_geo.store import Store

#: Tasks in flight per worker thread: one running, one queued so a worker never waits.
IN_FLIGHT_PER_THREAD = 2


class DaskRunner:
    """Reads chunks on the cluster of ``client``; see the module's docstring.

    ``store`` is the client's: its location is what workers open, and its ``imported_at``
    what they check (:func:`tsunagari_geo.cluster.worker_store`).
    """

    def __init__(self, client: Client, store: Store, rules: RowRules) -> None:
        from dask.base import tokenize

        self.client = client
        self.location = store_location(store)
        self.imported_at = store.meta.get("imported_at", "")
        self.rules = rules
        self.rules_token = tokenize(
            rules.overrides_path, sorted(rules.by_id.items()), sorted(rules.by_address.items())
        )
        self._load_seconds = 0.0

    @property
    def load_seconds(self) -> float:
        """The longest dictionary load among the workers that read this job's chunks."""
        return self._load_seconds

    def __call__(self, tasks: Iterable[ChunkTask]) -> Iterator[tuple[int, list[list[str]]]]:
        from distributed import as_completed

        pending = iter(tasks)
        threads = sum(self.client.nthreads().values()) or 1
        rules = self.client.scatter(self.rules, broadcast=True, hash=False)
        running = as_completed()

        def submit_next() -> bool:
            task = next(pending, None)
            if task is None:
                return False
            k, addresses, ids = task
            job = (self.location, self.imported_at, self.rules_token, rules)
            running.add(self.client.submit(_read_chunk, *job, k, addresses, ids, pure=False))
            return True

        for _ in range(threads * IN_FLIGHT_PER_THREAD):
            if not submit_next():
                break
        try:
            for future in running:
                k, rows, load_seconds = future.result()
                self._load_seconds = max(self._load_seconds, load_seconds)
                submit_next()
                yield k, rows
        finally:
            # An error (or an interrupted client) leaves nothing running on the cluster.
            left: list[Future[Any]] = [f for f in running.futures if not f.done()]
            if left:
                self.client.cancel(left)


_GEOCODERS: dict[tuple[str, str], Geocoder] = {}
_READERS: dict[tuple[str, str, str], RowReader] = {}
_LOCK = threading.Lock()
#: Readers kept per worker process: a worker serving job after job keeps the last few.
_KEEP_READERS = 4


def _worker_reader(location: str, imported_at: str, rules_token: str, rules: RowRules) -> RowReader:
    """This process's reader for a job. One Geocoder per store import per process (a worker
    serving a second job keeps it); one reader (its rows read alike kept across chunks) per
    job."""
    with _LOCK:
        geocoder = _GEOCODERS.get((location, imported_at))
        if geocoder is None:
            geocoder = Geocoder.from_store(worker_store(location, imported_at))
            _GEOCODERS[(location, imported_at)] = geocoder
        key = (location, imported_at, rules_token)
        reader = _READERS.get(key)
        if reader is None:
            if len(_READERS) >= _KEEP_READERS:
                _READERS.clear()
            reader = _READERS[key] = RowReader(geocoder, rules)
        return reader


def _read_chunk(
    location: str,
    imported_at: str,
    rules_token: str,
    rules: RowRules,
    k: int,
    addresses: list[tuple[str, str]],
    ids: list[str],
) -> tuple[int, list[list[str]], float]:
    """One task on a worker: chunk ``k``'s cells, and how long this worker's dictionary took
    to load (as the single process reports its own, loaded before the job)."""
    reader = _worker_reader(location, imported_at, rules_token, rules)
    return k, reader.read_chunk(addresses, ids), reader.geocoder.load_seconds
