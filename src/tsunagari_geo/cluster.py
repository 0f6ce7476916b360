"""Where a partitioned job runs: a Dask cluster, started here or reached at its scheduler.

:func:`dask_client` gives the client a job submits to: with no scheduler a ``LocalCluster`` of
``workers`` processes (one thread each: the geocoder is pure Python and holds the GIL, so a
second thread in a process adds nothing), with ``tcp://host:port`` the running cluster behind
that scheduler. :func:`worker_store` is what a task calls on a worker: the store at the
location the job was given, opened once per worker process and checked to be the same
import as the client's, so no task carries reference data and no worker reads other data.

Example::

    >>> with dask_client(workers=2) as client:  # doctest: +SKIP
    ...     geocode_table("in.csv", "out.csv", store=store, client=client)
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tsunagari_geo.errors import InputError, StoreError

if TYPE_CHECKING:
    from distributed import Client

    from tsunagari_geo.store import Store

#: What ``--dask`` alone means: a LocalCluster started for the job.
LOCAL = "local"
#: A scheduler address: ``tcp://host:port`` (any protocol Dask speaks) or ``host:port``.
_ADDRESS_RE = re.compile(r"^(?:[a-z][a-z0-9+]*://\S+|[\w.\-]+:\d+)$", re.IGNORECASE)


def is_scheduler_address(text: str) -> bool:
    """Whether ``text`` reads as a scheduler address (not, say, an input file's name)."""
    return bool(_ADDRESS_RE.match(text))


@contextlib.contextmanager
def dask_client(
    scheduler: str | None = None, *, workers: int = 2, processes: bool = True
) -> Iterator[Client]:
    """A client on a LocalCluster of ``workers`` (``scheduler`` None or ``"local"``), or on
    the cluster of the scheduler at ``scheduler``; both are closed on leaving.

    ``processes=False`` runs the local workers as threads of this process (tests).

    Raises:
        InputError: ``workers`` below 1, an address that is not one, or no scheduler there.
    """
    from distributed import Client, LocalCluster

    # Dask logs every worker's start and stop at INFO; the secretariat reads warnings only.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    if scheduler in (None, "", LOCAL):
        if workers < 1:
            raise InputError("ワーカー数は 1 以上です", column="--workers", value=workers)
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=processes,
                dashboard_address=None,
                silence_logs=logging.WARNING,
                # The job's rows stay on the client; a worker holds one chunk at a time.
                memory_limit=0,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    assert scheduler is not None
    if not is_scheduler_address(scheduler):
        raise InputError(
            "--dask の値は Dask スケジューラのアドレスです (例: tcp://host:8786)",
            column="--dask",
            value=scheduler,
        )
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise InputError(
            f"Dask のスケジューラに接続できません: {exc}", column="--dask", value=scheduler
        ) from exc
    with client:
        yield client


def describe(client: Client) -> str:
    """The cluster in one line for the secretariat: where it is and how many workers."""
    info = client.scheduler_info(n_workers=-1)
    return f"Dask {info.get('address', '')} / ワーカー {len(info.get('workers', {}))}"


def store_location(store: Store) -> str:
    """The store's location as a worker must open it: a path made absolute (a worker's
    working folder is not the client's), a URL as it is."""
    path = Path(store.location)
    return str(path.resolve()) if path.exists() else store.location


_STORES: dict[tuple[str, str], Store] = {}
_STORES_LOCK = threading.Lock()


def worker_store(location: str, imported_at: str) -> Store:
    """The store at ``location``, opened once per process (on a worker: once per worker).

    Raises:
        StoreError: the store there is not the import the job was started with (another
            ``imported_at``): its answers could differ from the client's.
    """
    from tsunagari_geo.store import open_store

    key = (location, imported_at)
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            store = open_store(location)
            found = store.meta.get("imported_at", "")
            if found != imported_at:
                raise StoreError(
                    "ワーカーの参照データがジョブのものと違います (取り込み日時 "
                    f"{found} ≠ {imported_at})",
                    path=location,
                )
            _STORES[key] = store
        return store
