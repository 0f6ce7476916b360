"""The municipality registry: codes, names, kana, 郡, wards and merger history of one region.

The facts live in two CSV files in the region's folder (see :mod:`tsunagari_geo.region`),
each row with a public source:

* ``municipalities.csv``: the units (cities, towns, villages and the wards of each
  designated city) plus each designated city itself (kind ``designated_city``).
  Optional ``name_en``: the English name English pages show (Kawagoe, Saitama City
  Nishi-ku); without it they show the Japanese name.
* ``mergers.csv``: every municipality that disappeared or was renamed since 2001, mapped to
  today's code (e.g. 大宮市 → 11100, 鳩ヶ谷市 → 11203 川口市), for the geocoder.

Example::

    >>> from tsunagari_geo.region import load_region
    >>> reg = load_region("saitama").registry
    >>> reg.by_code["11201"].name
    '川越市'
    >>> lg_code("11201")
    '112011'
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Literal

from tsunagari_geo.errors import RegionError

Kind = Literal["city", "town", "village", "ward", "designated_city"]
KINDS: tuple[Kind, ...] = ("city", "town", "village", "ward", "designated_city")


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
    #: the name in English (``name_en``, the romanisation the municipality uses: Kawagoe,
    #: Saitama City Nishi-ku); empty where the registry has none, and then English pages show
    #: the Japanese name.
    name_en: str = ""

    def name_in(self, lang: str) -> str:
        """The name pages in ``lang`` show: ``name_en`` in English where the registry has one,
        else the name with its 郡 (比企郡滑川町); やさしい日本語 keeps the Japanese name.

        >>> Municipality("11341", "滑川町", "ナメガワマチ", "比企郡", "ヒキグン", "town", "", "",
        ...              name_en="Namegawa").name_in("en")
        'Namegawa'
        """
        if lang == "en" and self.name_en:
            return self.name_en
        return self.full_name

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
        """The units: every municipality except the designated cities, which are their wards."""
        return [m for m in self.municipalities if m.kind != "designated_city"]

    @property
    def municipalities_63(self) -> list[Municipality]:
        """The municipalities with wards folded into their city (63 in 埼玉県)."""
        return [m for m in self.municipalities if m.kind != "ward"]

    @property
    def designated_cities(self) -> list[Municipality]:
        """The designated cities (政令指定都市), whose wards are units of their own."""
        return [m for m in self.municipalities if m.kind == "designated_city"]

    def wards_of(self, code: str) -> list[Municipality]:
        return [m for m in self.municipalities if m.parent_code == code]

    def names_in(self, lang: str) -> dict[str, str]:
        """Code → name in ``lang`` for every row (see :meth:`Municipality.name_in`)."""
        return {m.code: m.name_in(lang) for m in self.municipalities}

    def by_full_name(self) -> dict[str, Municipality]:
        """Map of 郡-prefixed and plain names to units (plain only where unique)."""
        out: dict[str, Municipality] = {}
        for m in self.municipalities:
            out[m.full_name] = m
            out.setdefault(m.name, m)
        return out


def _rows(text: str, what: str, required: tuple[str, ...]) -> list[dict[str, str]]:
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise RegionError("registry file lacks columns", path=what, column=", ".join(missing))
    return list(reader)


def read_registry(municipalities_csv: str, mergers_csv: str, *, origin: str = "") -> Registry:
    """Build a registry from the text of ``municipalities.csv`` and ``mergers.csv``.

    Raises RegionError naming the file, row, column and value when a kind is unknown, a code
    is not 5 digits, or a ward's parent is not a designated city of the same registry.
    """
    where = f"{origin}/" if origin else ""
    path = f"{where}municipalities.csv"
    munis: list[Municipality] = []
    columns = ("code", "name", "name_kana", "gun", "kind", "parent_code", "source_url")
    for row_number, r in enumerate(
        _rows(municipalities_csv, f"{where}municipalities.csv", columns), start=2
    ):
        code, kind_text = r["code"].strip(), r["kind"].strip()
        if len(code) != 5 or not code.isdigit():
            raise RegionError(
                "a municipality code has 5 digits",
                path=path,
                row=row_number,
                column="code",
                value=code,
            )
        kind = next((k for k in KINDS if k == kind_text), None)
        if kind is None:
            raise RegionError(
                f"kind is not one of {', '.join(KINDS)}",
                path=path,
                row=row_number,
                column="kind",
                value=kind_text,
            )
        munis.append(
            Municipality(
                code=code,
                name=r["name"].strip(),
                name_kana=r["name_kana"].strip(),
                gun=r["gun"].strip(),
                gun_kana=(r.get("gun_kana") or "").strip(),
                kind=kind,
                parent_code=r["parent_code"].strip(),
                source_url=r["source_url"].strip(),
                name_en=(r.get("name_en") or "").strip(),
            )
        )
    by_code = {m.code: m for m in munis}
    for row_number, m in enumerate(munis, start=2):
        parent = by_code.get(m.parent_code) if m.parent_code else None
        if m.kind == "ward" and (parent is None or parent.kind != "designated_city"):
            raise RegionError(
                f"ward {m.name} names a parent that is no designated city of this region",
                path=path,
                row=row_number,
                column="parent_code",
                value=m.parent_code,
            )
    former = tuple(
        FormerMunicipality(**{k: (v or "").strip() for k, v in r.items() if k})
        for r in _rows(mergers_csv, f"{where}mergers.csv", ("former_code", "successor_code"))
    )
    return Registry(municipalities=tuple(munis), former=former, by_code=by_code)
