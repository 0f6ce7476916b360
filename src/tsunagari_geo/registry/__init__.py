"""Municipality registry for Saitama: codes, names, kana, 郡, wards and merger history.

The facts live in two CSV files beside this module, each row with a public source:

* ``municipalities.csv``: the 72 units (62 cities, towns and the village, the 10 wards of
  さいたま市) plus さいたま市 itself (11100).
* ``mergers.csv``: every municipality that disappeared or was renamed since 2001, mapped to
  today's code (e.g. 大宮市 → 11100, 鳩ヶ谷市 → 11203 川口市), for the geocoder.

Example::

    >>> reg = load_registry()
    >>> reg.by_code["11201"].name
    '川越市'
    >>> lg_code("11201")
    '112011'
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Literal

Kind = Literal["city", "town", "village", "ward", "designated_city"]

#: The designated city whose wards are units of their own.
SAITAMA_CITY_CODE = "11100"


def lg_code(code: str) -> str:
    """6-digit 全国地方公共団体コード: the 5-digit code plus its check digit.

    The check digit is ``(11 - S mod 11) mod 10`` where S weights the digits 6, 5, 4, 3, 2.

    >>> lg_code("13101")
    '131016'
    """
    if len(code) != 5 or not code.isdigit():
        raise ValueError(f"a municipality code has 5 digits, got {code!r}")
    s = sum(int(d) * w for d, w in zip(code, (6, 5, 4, 3, 2), strict=True))
    return code + str((11 - s % 11) % 10)


@dataclass(frozen=True)
class Municipality:
    """One row of the registry."""

    code: str
    name: str
    name_kana: str
    gun: str
    gun_kana: str
    kind: Kind
    parent_code: str
    source_url: str

    @property
    def lg_code(self) -> str:
        return lg_code(self.code)

    @property
    def muni_code(self) -> str:
        """The code at the 63-municipality level (a ward's city, else itself)."""
        return self.parent_code or self.code

    @property
    def full_name(self) -> str:
        """Name as written with its 郡, as in the Geolonia dictionary (比企郡滑川町)."""
        return f"{self.gun}{self.name}"


@dataclass(frozen=True)
class FormerMunicipality:
    """A municipality merged away or renamed since 2001 (合併・改称の履歴)."""

    former_code: str
    former_name: str
    former_gun: str
    former_kind: str
    event: str
    effective_date: str
    successor_code: str
    successor_name: str
    note: str
    source_url: str


@dataclass(frozen=True)
class Registry:
    """The registry: current units and former names."""

    municipalities: tuple[Municipality, ...]
    former: tuple[FormerMunicipality, ...]
    by_code: dict[str, Municipality] = field(repr=False)

    @property
    def units(self) -> list[Municipality]:
        """The 72 units: every municipality except さいたま市 itself, which is its wards."""
        return [m for m in self.municipalities if m.kind != "designated_city"]

    @property
    def municipalities_63(self) -> list[Municipality]:
        """The 63 municipalities: wards folded into さいたま市."""
        return [m for m in self.municipalities if m.kind != "ward"]

    def wards_of(self, code: str) -> list[Municipality]:
        return [m for m in self.municipalities if m.parent_code == code]

    def by_full_name(self) -> dict[str, Municipality]:
        """Map of 郡-prefixed and plain names to units (plain only where unique)."""
        out: dict[str, Municipality] = {}
        for m in self.municipalities:
            out[m.full_name] = m
            out.setdefault(m.name, m)
        return out


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def load_registry() -> Registry:
    """Read the registry shipped with the package (cached; it never changes at run time)."""
    munis = tuple(
        Municipality(
            code=r["code"].strip(),
            name=r["name"].strip(),
            name_kana=r["name_kana"].strip(),
            gun=r["gun"].strip(),
            gun_kana=r.get("gun_kana", "").strip(),
            kind=r["kind"].strip(),  # type: ignore[arg-type]
            parent_code=r["parent_code"].strip(),
            source_url=r["source_url"].strip(),
        )
        for r in _read_csv("municipalities.csv")
    )
    former = tuple(
        FormerMunicipality(**{k: (v or "").strip() for k, v in r.items() if k})
        for r in _read_csv("mergers.csv")
    )
    return Registry(municipalities=munis, former=former, by_code={m.code: m for m in munis})
