"""What a cell or a header of a member's table means: yes/no cells and coordinate columns.

Two questions every reader of a member's table asks, answered here once:

* :func:`parse_yes_no`: is this cell yes, no, or empty? The documented spellings are
  :data:`YES` and :data:`NO` (compared after NFKC folding, so ``ＹＥＳ`` and ``１`` count, and
  case-insensitively). Any other value is an error, never silently true or false.
* :func:`coordinate_columns`: which two columns hold longitude and latitude? The pairs of
  :data:`COORDINATE_PAIRS` are tried in order, headers compared case-insensitively after NFKC.

Example::

    >>> parse_yes_no("はい"), parse_yes_no("×"), parse_yes_no("")
    (True, False, None)
    >>> coordinate_columns(["名称", "緯度", "経度"])
    ('経度', '緯度')
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tsunagari_geo.errors import InputError
from tsunagari_geo.text import nfkc

if TYPE_CHECKING:
    # Only for annotations: a CSV job reads its cells as text and needs neither.
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

#: Spellings of "yes" (after NFKC folding and lower-casing).
YES = frozenset({"true", "yes", "y", "1", "はい", "○", "〇", "公開"})
#: Spellings of "no" (after NFKC folding and lower-casing).
NO = frozenset({"false", "no", "n", "0", "いいえ", "×", "✕", "非公開"})

#: (longitude, latitude) header pairs, tried in order.
COORDINATE_PAIRS = (
    ("lng", "lat"),
    ("lon", "lat"),
    ("longitude", "latitude"),
    ("経度", "緯度"),
    ("x", "y"),
)


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return not value.strip()
    # pandas' missing value (pd.NA) exists only once pandas is imported: not imported for it.
    pandas = sys.modules.get("pandas")
    return pandas is not None and value is pandas.NA


def _is_bool(value: object) -> bool:
    """A Python or a numpy boolean (numpy's is not an ``int``); a numpy one exists only once
    numpy is imported, so numpy is not imported for it."""
    if isinstance(value, bool):
        return True
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.bool_)


def _yes_no_message(value: object) -> str:
    """The Japanese message for a cell that is neither yes nor no."""
    return (
        f"はい/いいえ として読めない値です: {value!r} "
        "(使える値: true/false, yes/no, はい/いいえ, 1/0, ○/×, y/n, 公開/非公開)"
    )


def parse_yes_no(value: object) -> bool | None:
    """``True`` for a yes, ``False`` for a no, ``None`` for an empty cell.

    Booleans pass through; the integers 1 and 0 are yes and no.

    Raises:
        ValueError: any other value (the message, in Japanese, names it and the spellings).
    """
    if _is_bool(value):
        return bool(value)
    if _is_blank(value):
        return None
    # numbers.Real covers numpy's integers and floats too (numpy registers them).
    if isinstance(value, numbers.Real) and float(value) in (0.0, 1.0):
        return float(value) == 1.0
    if isinstance(value, str):
        text = nfkc(value).strip().lower()
        if text in YES:
            return True
        if text in NO:
            return False
    raise ValueError(_yes_no_message(value))


def yes_no_column(
    frame: pd.DataFrame,
    column: str,
    *,
    default: bool,
    path: str | Path | None = None,
    rows: Sequence[int] | None = None,
) -> npt.NDArray[np.bool_]:
    """A column of yes/no cells as booleans; empty cells (or no column) give ``default``.

    Args:
        rows: the spreadsheet row of each record, for the error (default: position + 2).

    Raises:
        InputError: a cell that is neither yes nor no, naming file, row, column and value.
    """
    import numpy as np

    if column not in frame.columns:
        return np.full(len(frame), default, dtype=bool)
    out = np.empty(len(frame), dtype=bool)
    for i, value in enumerate(frame[column].tolist()):
        try:
            parsed = parse_yes_no(value)
        except ValueError as exc:
            raise InputError(
                str(exc),
                path=path,
                row=int(rows[i]) if rows is not None else i + 2,
                column=column,
                value=value,
            ) from exc
        out[i] = default if parsed is None else parsed
    return out


def coordinate_columns(columns: Iterable[object]) -> tuple[str, str] | None:
    """The (longitude, latitude) columns among ``columns``, or None when no pair is there."""
    folded: dict[str, str] = {}
    for column in columns:
        folded.setdefault(nfkc(str(column)).strip().lower(), str(column))
    for lon, lat in COORDINATE_PAIRS:
        if lon in folded and lat in folded:
            return folded[lon], folded[lat]
    return None
