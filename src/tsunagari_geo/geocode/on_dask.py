"""The batch job's chunks read on a Dask cluster (``tsunagari-geo geocode … --dask``).

The client does everything :class:`~tsunagari_geo.geocode.batch.BatchJob` does: reads the
input, keeps the journal, assembles the rows in input order and writes the output and the
failures file through the same writer. Only the reading of chunks moves: each chunk missing
from the journal (the partition is the journal's chunk, so a killed run resumes from the same
files, with or without Dask) travels in a task carrying its rows' addresses and ids (a
few consecutive chunks per task, :data:`TASK_ROWS` rows at least). A worker
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

#: Tasks in flight per worker thread: one running, the others queued so a worker never waits
#: for the round trip to the client (a few hundred ms on a busy machine).
IN_FLIGHT_PER_THREAD = 3
#: Rows per task at least: consecutive journal chunks travel together, so a small
#: ``--chunk-size`` (a fine-grained journal) does not cost a round trip per chunk.
TASK_ROWS = 10_000


def _batches(tasks: Iterable[ChunkTask], rows: int) -> Iterator[list[ChunkTask]]:
    """Consecutive chunks grouped until they hold ``rows`` rows (a gap in the numbers, left
    by a resumed journal, starts a new group)."""
    batch: list[ChunkTask] = []
    size = 0
    for task in tasks:
        if batch and (size >= rows or task[0] != batch[-1][0] + 1):
            yield batch
            batch, size = [], 0
        batch.append(task)
        size += len(task[1])
    if batch:
        yield batch


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

        pending = _batches(tasks, TASK_ROWS)
        threads = sum(self.client.nthreads().values()) or 1
        rules = self.client.scatter(self.rules, broadcast=True, hash=False)
        running = as_completed()

        def submit_next() -> bool:
            batch = next(pending, None)
            if batch is None:
                return False
            job = (self.location, self.imported_at, self.rules_token, rules)
            running.add(self.client.submit(_read_chunks, *job, batch, pure=False))
            return True

        for _ in range(threads * IN_FLIGHT_PER_THREAD):
            if not submit_next():
                break
        try:
            for future in running:
                done, load_seconds = future.result()
                self._load_seconds = max(self._load_seconds, load_seconds)
                submit_next()
                yield from done
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


def _read_chunks(
    location: str, imported_at: str, rules_token: str, rules: RowRules, batch: list[ChunkTask]
) -> tuple[list[tuple[int, list[list[str]]]], float]:
    """One task on a worker: each chunk's number and cells, and how long this worker's
    dictionary took to load (as the single process reports its own, loaded before the job)."""
    reader = _worker_reader(location, imported_at, rules_token, rules)
    done = [(k, reader.read_chunk(addresses, ids)) for k, addresses, ids in batch]
    return done, reader.geocoder.load_seconds
