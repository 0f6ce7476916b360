"""When an activity is open and whom it accepts: the one place its ``rrule`` is evaluated.

An activity's schedule is HSDS ``schedule`` flattened into its row: the RFC 5545 ``rrule``
(``FREQ=WEEKLY;BYDAY=TU`` 毎週火曜, ``FREQ=MONTHLY;BYDAY=2SA`` 第2土曜,
``FREQ=MONTHLY;BYDAY=2TU,4TU`` 第2・第4火曜) with the day's ``opens_at``/``closes_at``
(HH:MM). Dates are calendar days in Japan Standard Time, which has no daylight saving time, so
a day's occurrences never shift. A rule without its own ``DTSTART`` starts on
:data:`DEFAULT_DTSTART` (1 April 2024, the start of fiscal 2024); a member who needs another
anchor (隔週, ``INTERVAL=2``) writes ``DTSTART:20250405`` before the rule, separated by a
line break or a space.

Who uses it, so that every answer is the same one:

* the API's ``open_on=YYYY-MM-DD`` filter (:func:`open_on_mask`) and ``age=15``
  (:func:`age_mask`);
* the calendar of open days the map and the static site read for 次の開催日 and the
  「この日に開いている」 filter (:func:`open_days`): the client only compares the dates it is
  given, it never reads an ``rrule``.

Example::

    >>> open_dates("FREQ=MONTHLY;BYDAY=2SA", date(2026, 12, 1), 62)
    [datetime.date(2026, 12, 12), datetime.date(2027, 1, 9)]
    >>> accepts_age(None, 18, 15), accepts_age(20, None, 15)
    (True, False)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from dateutil.rrule import rrule, rruleset, rrulestr

from tsunagari_geo.text import JST, nfkc

#: Where a rule without ``DTSTART`` starts: the first day of fiscal 2024 (a Monday).
DEFAULT_DTSTART = datetime(2024, 4, 1)
#: The days a schedule may be asked about. A rule is walked from its start to the day asked,
#: so an unbounded day (year 9999) would cost millions of steps per rule.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
_TIME = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


def normalise_rrule(text: str) -> str:
    """The cell as :func:`rrulestr` reads it: ``RRULE:`` added, ``DTSTART`` on its own line.

    Raises:
        ValueError: not an RFC 5545 rule (the message, in Japanese, names the value).
    """
    cell = nfkc(text).strip()
    parts = [p for p in re.split(r"\s+", cell) if p]
    lines = [
        p if re.match(r"(?i)^(RRULE|DTSTART|EXDATE|RDATE)[:;]", p) else f"RRULE:{p}" for p in parts
    ]
    joined = "\n".join(lines)
    # Activities meet on days: a rule repeating every hour, minute or second would also cost
    # tens of thousands of steps for every day asked about.
    if re.search(r"(?i)FREQ=(HOURLY|MINUTELY|SECONDLY)", joined):
        raise ValueError(
            f"繰り返しは DAILY・WEEKLY・MONTHLY・YEARLY のどれかにしてください: {text!r}"
        )
    start = re.search(r"(?i)DTSTART[:;][^\n]*?(\d{4})(\d{2})(\d{2})", joined)
    if start and not FIRST_DAY.year <= int(start[1]) <= LAST_DAY.year:
        raise ValueError(
            f"DTSTART は {FIRST_DAY.year}年から{LAST_DAY.year}年までの日付にしてください: {text!r}"
        )
    try:
        _parse(joined)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"RFC 5545 の RRULE として読めません: {text!r} ({exc})") from exc
    return joined


@lru_cache(maxsize=4096)
def _parse(text: str) -> rrule | rruleset:
    # cache=True: the occurrences walked for one day are kept for the next question.
    rule = rrulestr(text, dtstart=DEFAULT_DTSTART, forceset=True, ignoretz=True, cache=True)
    assert isinstance(rule, rruleset)
    return rule


def parse_time(value: str) -> str:
    """``HH:MM`` (``9:30``, ``09:30``, full-width ``１０：００``, 24:00 for midnight) as ``HH:MM``.

    Raises:
        ValueError: anything else (named in the message).
    """
    text = nfkc(str(value)).strip().replace("時", ":").removesuffix("分")
    if re.fullmatch(r"\d{1,2}:", text):
        text += "00"
    m = _TIME.match(text)
    if not m or (m[1] == "24" and m[2] != "00"):
        raise ValueError(f"時刻は HH:MM（例: 10:00）で書いてください: {value!r}")
    return f"{int(m[1]):02d}:{m[2]}"


def check_day(day: date) -> date:
    """``day`` when a schedule may be asked about it (:data:`FIRST_DAY`–:data:`LAST_DAY`).

    Raises:
        ValueError: a day outside that range (named in the message).
    """
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(
            f"{FIRST_DAY.isoformat()} から {LAST_DAY.isoformat()} までの日付にしてください: "
            f"{day.isoformat()}"
        )
    return day


def open_dates(rule: str | None, start: date, days: int) -> list[date]:
    """The days in ``[start, start + days)`` on which ``rule`` has an occurrence (JST days).

    An empty rule is never open (its schedule is only text). Days after :data:`LAST_DAY`
    are never open.
    """
    days = min(days, (LAST_DAY - start).days + 1)
    if not rule or days <= 0:
        return []
    parsed = _parse(normalise_rrule(rule))
    first = datetime.combine(start, datetime.min.time())
    last = first + timedelta(days=days) - timedelta(microseconds=1)
    return sorted({d.date() for d in parsed.between(first, last, inc=True)})


def is_open_on(rule: str | None, day: date) -> bool:
    """True when ``rule`` has an occurrence on ``day``."""
    return bool(open_dates(rule, day, 1))


def today() -> date:
    """Today in Japan (the members' and residents' calendar)."""
    return datetime.now(JST).date()


def accepts_age(minimum: object, maximum: object, age: int) -> bool:
    """``minimum ≤ age ≤ maximum``; a missing bound is no limit on that side."""
    low, high = _age(minimum), _age(maximum)
    return (low is None or low <= age) and (high is None or age <= high)


def _age(value: object) -> int | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        return int(value) if value.strip() else None
    return int(value)  # type: ignore[call-overload]


def open_on_mask(frame: pd.DataFrame, day: date) -> np.ndarray:
    """Which rows of ``frame`` (with an ``rrule`` column) are open on ``day``."""
    if "rrule" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    rules = [_text(r) for r in frame["rrule"]]
    # Thousands of activities share a few dozen rules (毎週土曜, 第2土曜 …): each is read once.
    answers = {r: is_open_on(r, day) for r in set(rules) if r}
    return np.array([answers.get(r, False) if r else False for r in rules], dtype=bool)


def age_mask(frame: pd.DataFrame, age: int) -> np.ndarray:
    """Which rows of ``frame`` accept someone aged ``age`` (``minimum_age``/``maximum_age``)."""
    low = frame["minimum_age"] if "minimum_age" in frame.columns else [None] * len(frame)
    high = frame["maximum_age"] if "maximum_age" in frame.columns else [None] * len(frame)
    return np.array([accepts_age(a, b, age) for a, b in zip(low, high, strict=True)], dtype=bool)


def open_days(
    records: Iterable[Mapping[str, Any]], start: date, days: int, *, id_column: str = "id"
) -> dict[str, Any]:
    """The calendar the map reads: for each activity with a rule, its open days as offsets
    from ``start`` (0 is ``start`` itself), plus the window itself.

    ``{"start": "2026-12-02", "days": 62, "open": {"<id>": [3, 10, 17, …]}}``: an activity
    whose rule has no day in the window is absent; its popup then shows its text only.
    """
    out: dict[str, list[int]] = {}
    answers: dict[str, list[int]] = {}
    for record in records:
        rule = _text(record.get("rrule"))
        if not rule:
            continue
        if rule not in answers:
            answers[rule] = [(d - start).days for d in open_dates(rule, start, days)]
        offsets = answers[rule]
        if offsets:
            out[str(record[id_column])] = offsets
    return {"start": start.isoformat(), "days": days, "open": out}


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None
