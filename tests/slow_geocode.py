"""Run ``tsunagari-geo`` with a pause after each journal chunk the batch job writes.

The kill-and-resume tests start this with the same interpreter instead of the console script,
so that a run spans long enough for a SIGKILL to land between chunks; production code has no
hook for it::

    python tests/slow_geocode.py SECONDS geocode IN.csv --out OUT.csv ...
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tsunagari_geo.cli import main
from tsunagari_geo.geocode import batch


def _slowed(seconds: float) -> None:
    original = batch.atomic_path

    @contextlib.contextmanager
    def atomic_path(path: Path, *, durable: bool = True) -> Iterator[Path]:
        with original(path, durable=durable) as tmp:
            yield tmp
        if path.name.startswith("chunk_"):
            time.sleep(seconds)

    batch.atomic_path = atomic_path  # type: ignore[assignment]


if __name__ == "__main__":
    _slowed(float(sys.argv[1]))
    sys.argv = ["tsunagari-geo", *sys.argv[2:]]
    main()
