"""Taxonomies as data files the secretariat (事務局) edits: themes, life stages, circumstances.

The package ships them in ``tsunagari_geo/resources/taxonomies/``; :func:`load_taxonomies`
reads another folder with the same three files when given one:

* ``themes.csv``: ``code,label_ja,label_en,description`` (居場所, 相談, 子育て, …).
* ``life_stages.csv``: ``code,label_ja,label_en,denominator,denominator_label_ja,
  denominator_note``; ``denominator`` names the census column of the reference store used as
  the life stage's population (``pop_0_14``, ``pop_15_64``, ``pop_65plus`` or ``pop_total``:
  the official bands of the census workbook), ``denominator_label_ja`` what a reader is told
  it is (saying so where the census has no matching band), and the note says which are
  proxies.
* ``circumstances.csv``: ``code,label_ja,label_en`` (相談窓口's お困りごと: 仕事, お金・生活, …).

Input files may name an entry by its code or by its Japanese or English label; every other
spelling is an error reported with its row, never guessed.

Example::

    >>> tax = load_taxonomies()
    >>> tax.themes.resolve("居場所")
    'ibasho'
    >>> tax.life_stages.denominators["elderly"]
    'pop_65plus'
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from tsunagari_geo.errors import InputError
from tsunagari_geo.resources import TAXONOMIES_DIR
from tsunagari_geo.text import nfkc

#: Census columns of the reference store a life stage may use as its denominator.
CENSUS_COLUMNS = ("pop_0_14", "pop_15_64", "pop_65plus", "pop_total", "pop_30_44")
#: The life stage that means "everyone": it counts toward every other stage's coverage.
ALL_AGES = "all_ages"


@dataclass(frozen=True)
class Term:
    """One entry of a taxonomy."""

    code: str
    label_ja: str
    label_en: str
    note: str = ""


@dataclass(frozen=True)
class Taxonomy:
    """An ordered vocabulary: codes in file order, resolvable from code or either label."""

    name: str
    terms: tuple[Term, ...]
    denominators: dict[str, str] = field(default_factory=dict)
    #: code → what the denominator is, in Japanese (life stages only).
    denominator_labels: dict[str, str] = field(default_factory=dict)
    _lookup: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for term in self.terms:
            for spelling in (term.code, term.label_ja, term.label_en):
                if spelling:
                    self._lookup.setdefault(_key(spelling), term.code)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.terms)

    @property
    def labels(self) -> dict[str, str]:
        """Code → Japanese label."""
        return {t.code: t.label_ja for t in self.terms}

    def resolve(self, spelling: str) -> str | None:
        """The code written as ``spelling`` (code, 日本語 label or English label), else None."""
        return self._lookup.get(_key(spelling))


@dataclass(frozen=True)
class Taxonomies:
    """The three vocabularies read together."""

    themes: Taxonomy
    life_stages: Taxonomy
    circumstances: Taxonomy


def _key(text: str) -> str:
    return nfkc(text).strip().lower().replace(" ", "")


def _read_terms(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.exists():
        raise InputError("taxonomy file not found", path=path)
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header = tuple(reader.fieldnames or ())
        missing = [c for c in required if c not in header]
        if missing:
            raise InputError(f"taxonomy file lacks columns {missing}", path=path)
        rows = list(reader)
    seen: dict[str, int] = {}
    for i, row in enumerate(rows, start=2):
        code = (row.get("code") or "").strip()
        if not code:
            raise InputError("empty code", path=path, row=i, column="code")
        if code in seen:
            raise InputError(
                f"duplicate code (first at row {seen[code]})",
                path=path,
                row=i,
                column="code",
                value=code,
            )
        seen[code] = i
        if not (row.get("label_ja") or "").strip():
            raise InputError("empty Japanese label", path=path, row=i, column="label_ja")
    return rows


@cache
def _load(directory: Path) -> Taxonomies:
    themes = _read_terms(directory / "themes.csv", ("code", "label_ja", "label_en"))
    stages = _read_terms(
        directory / "life_stages.csv", ("code", "label_ja", "label_en", "denominator")
    )
    circs = _read_terms(directory / "circumstances.csv", ("code", "label_ja", "label_en"))
    for i, row in enumerate(stages, start=2):
        if row["denominator"] not in CENSUS_COLUMNS:
            raise InputError(
                f"denominator must be one of {list(CENSUS_COLUMNS)}",
                path=directory / "life_stages.csv",
                row=i,
                column="denominator",
                value=row["denominator"],
            )

    def terms(rows: list[dict[str, str]], note: str) -> tuple[Term, ...]:
        return tuple(
            Term(
                code=r["code"].strip(),
                label_ja=r["label_ja"].strip(),
                label_en=(r.get("label_en") or "").strip(),
                note=(r.get(note) or "").strip(),
            )
            for r in rows
        )

    return Taxonomies(
        themes=Taxonomy("themes", terms(themes, "description")),
        life_stages=Taxonomy(
            "life_stages",
            terms(stages, "denominator_note"),
            denominators={r["code"].strip(): r["denominator"] for r in stages},
            denominator_labels={
                r["code"].strip(): (r.get("denominator_label_ja") or r["denominator"]).strip()
                for r in stages
            },
        ),
        circumstances=Taxonomy("circumstances", terms(circs, "description")),
    )


def load_taxonomies(directory: Path | str | None = None) -> Taxonomies:
    """Read and check the three taxonomy files (cached per folder).

    Args:
        directory: folder holding ``themes.csv``, ``life_stages.csv`` and
            ``circumstances.csv``; defaults to the shipped ones
            (:data:`tsunagari_geo.resources.TAXONOMIES_DIR`).

    Raises:
        InputError: a file is missing, lacks a column, repeats a code, or names a
            denominator that is not a census column.
    """
    return _load(Path(directory or TAXONOMIES_DIR).resolve())
