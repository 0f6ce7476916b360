"""The ``datetime`` parameter of OGC API – Features (Part 1, /req/core/fc-time-definition).

A value is an RFC 3339 instant (``2025-04-01T09:00:00+09:00``, ``2025-04-01``) or an
interval ``start/end`` one of whose ends may be open (``..`` or empty). A collection with a temporal
property (activities: ``last_verified``, the date the secretariat last confirmed the entry)
keeps the features whose value intersects it; a collection without one has no temporal
geometry, so the parameter is checked and every feature is kept.

Dates without a time are whole days in Japan Standard Time (the members' calendar), both
in the data and in the parameter, so ``datetime=2025-04-01`` finds what was verified that
day anywhere in Japan. Everything is compared as UTC nanoseconds.

Example::

    parse_datetime("2025-04-01/..")   # (start of 1 April 2025 JST in ns, None)
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from tsunagari_api.errors import InvalidParameter
from tsunagari_geo.text import JST

#: (first, last) instants in UTC nanoseconds, inclusive; None is an open end.
Interval = tuple[int | None, int | None]

_DAY_NS = 86_400 * 10**9
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_INT64_MIN, _INT64_MAX = -(2**63) + 1, 2**63 - 1  # -(2**63) is pandas NaT
_OPEN = ("", "..")
#: RFC 3339 full-date or date-time; a date-time without an offset is read as JST.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})?)?"
)


def parse_datetime(text: str | None) -> Interval | None:
    """The ``datetime`` parameter as an interval; raises InvalidParameter when malformed."""
    if text is None:
        return None
    value = text.strip()
    if "/" in value:
        start_text, _, end_text = value.partition("/")
        if "/" in end_text or (start_text.strip() in _OPEN and end_text.strip() in _OPEN):
            raise _bad(text)  # one end at least must be given
        start = None if start_text.strip() in _OPEN else _instant(start_text, text)[0]
        end = None if end_text.strip() in _OPEN else _instant(end_text, text)[1]
        if start is not None and end is not None and start > end:
            raise InvalidParameter(
                "datetime の開始が終了より後になっています", parameter="datetime", value=text
            )
        return (start, end)
    if value in _OPEN:
        raise _bad(text)
    return _instant(value, text)


def _instant(part: str, whole: str) -> tuple[int, int]:
    """(first, last) ns of one RFC 3339 value: a date is its whole JST day.

    Years 1–9999 are accepted; instants beyond what int64 nanoseconds hold (before 1677 or
    after 2262) are clamped, which changes no comparison with real data.
    """
    part = part.strip()
    if _RFC3339.fullmatch(part) is None:
        raise _bad(whole)
    try:
        if len(part) == 10:
            day = dt.date.fromisoformat(part)
            first = _ns(dt.datetime(day.year, day.month, day.day, tzinfo=JST))
            return first, _clamp(first + _DAY_NS - 1)
        moment = dt.datetime.fromisoformat(part.replace("z", "Z"))
    except ValueError:
        raise _bad(whole) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=JST)
    ns = _ns(moment)
    return ns, ns


def _ns(moment: dt.datetime) -> int:
    return _clamp((moment - _EPOCH) // dt.timedelta(microseconds=1) * 1000)


def _clamp(ns: int) -> int:
    return max(_INT64_MIN, min(_INT64_MAX, ns))


def _bad(text: str) -> InvalidParameter:
    return InvalidParameter(
        "datetime は RFC 3339 の日時（2025-04-01 や 2025-04-01T09:00:00+09:00）か、"
        "「開始/終了」の期間（片側は .. で省略可）で指定してください",
        parameter="datetime",
        value=text,
    )


def day_ranges(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per value: first and last instant (UTC ns) and whether it has one.

    A date is its whole JST day; a date-time is one instant; anything else has no time.
    """
    text = values.astype("string").fillna("").str.strip()
    first = np.zeros(len(text), dtype=np.int64)
    last = np.zeros(len(text), dtype=np.int64)
    valid = np.zeros(len(text), dtype=bool)
    for i, value in enumerate(text.tolist()):
        if not value:
            continue
        try:
            first[i], last[i] = _instant(value, value)
        except InvalidParameter:
            continue
        valid[i] = True
    return first, last, valid


def iso(ns: int) -> str:
    """An instant (UTC ns) as RFC 3339 in UTC, to the second."""
    return pd.Timestamp(ns, tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
