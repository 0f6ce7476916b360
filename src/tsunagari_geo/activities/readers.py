"""Reading the platform's records from CSV, XLSX, GeoJSON or GeoPackage, with a validation report.

Every reader returns a :class:`ReadResult`: the **valid** records as a GeoDataFrame (EPSG:4326,
a Point where the row has ``lat``/``lng``, else an empty geometry) and a
:class:`ValidationReport` listing every problem with its row, column and value (unknown theme,
bad date, organisation id that does not exist, a latitude without a longitude, …). A row
with an error is kept out of the records and stays in the report; nothing is fixed silently.

Columns may be headed by the English key (``themes``), the Japanese label (``テーマ``), or
both as in the templates (``テーマ (themes)``); the coordinate pair
(``lon``/``lat``, ``経度``/``緯度`` …, see :func:`tsunagari_geo.cells.coordinate_columns`) is read
as ``lng``/``lat``. Columns
the model does not know (e.g. the geocoder's ``muni_code``) are passed through unchanged, with
a warning in the report. Row numbers are spreadsheet rows: the header is row 1.

Example::

    >>> orgs = read_organizations("data/samples/organizations.csv")
    >>> acts = read_activities("data/samples/activities.csv", organizations=orgs.records)
    >>> acts.report.ok, len(acts.records)
    (True, 400)
    >>> acts.report.write("report.csv")
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
import shapely
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import ErrorDetails

from tsunagari_geo.activities.models import (
    Activity,
    Consultation,
    GoodPractice,
    Organization,
    Record,
    Vocabulary,
    headers,
)
from tsunagari_geo.cells import coordinate_columns
from tsunagari_geo.errors import InputError
from tsunagari_geo.resources import GOOD_PRACTICES_CSV
from tsunagari_geo.settings import STORE_CRS
from tsunagari_geo.tables import read_table, write_table
from tsunagari_geo.text import nfkc

#: Columns a file must have for each record kind (others may be left out).
REQUIRED: dict[type[Record], tuple[str, ...]] = {
    Organization: ("id", "name", "kind"),
    Activity: ("id", "organization_id", "name", "format"),
    Consultation: ("id", "name"),
    GoodPractice: ("id", "title", "organization_name", "fiscal_year"),
}
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem in an input file: where (row, column), what value, and why."""

    row: int | None
    column: str | None
    value: str
    message: str
    severity: Severity = "error"


@dataclass
class ValidationReport:
    """Every problem found in one file, and how many rows were read and kept."""

    path: str
    kind: str
    rows_read: int = 0
    rows_valid: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        """True when no row was rejected (warnings allowed)."""
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        """The problems as a table: file, kind, row, column, value, severity, message."""
        return pd.DataFrame(
            [
                {
                    "file": self.path,
                    "kind": self.kind,
                    "row": "" if p.row is None else str(p.row),
                    "column": p.column or "",
                    "value": p.value,
                    "severity": p.severity,
                    "message": p.message,
                }
                for p in self.problems
            ],
            columns=["file", "kind", "row", "column", "value", "severity", "message"],
        )

    def write(self, path: str | Path) -> Path:
        """Write the problems as CSV or XLSX (by extension), atomically."""
        return write_table(self.to_frame(), path, attribution=())

    def summary(self) -> str:
        """One Japanese line for the CLI."""
        rejected = self.rows_read - self.rows_valid
        warnings = len(self.problems) - len(self.errors)
        return (
            f"{self.path}: {self.rows_read} 行中 {self.rows_valid} 行を読み込み、"
            f"{rejected} 行を除外（エラー {len(self.errors)} 件、注意 {warnings} 件）"
        )


@dataclass(frozen=True)
class ReadResult:
    """Valid records (GeoDataFrame, EPSG:4326, with a ``row`` column) and the report."""

    records: gpd.GeoDataFrame
    report: ValidationReport


_MESSAGES = {
    "missing": "必須の項目が空です",
    "date_parsing": "日付として読めません（例: 2024-05-01）",
    "date_from_datetime_parsing": "日付として読めません（例: 2024-05-01）",
    "date_from_datetime_inexact": "日付として読めません（例: 2024-05-01）",
    "date_type": "日付として読めません（例: 2024-05-01）",
    "float_parsing": "数値として読めません",
    "float_type": "数値として読めません",
    "int_parsing": "整数として読めません",
    "int_from_float": "整数として読めません",
    "int_type": "整数として読めません",
    "bool_parsing": "true/false（はい/いいえ）で書いてください",
    "bool_type": "true/false（はい/いいえ）で書いてください",
    "string_too_short": "空にできません",
}


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind in ("literal_error", "enum"):
        return f"使える値は {ctx.get('expected', '')} です"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = next(iter(ctx.values()), "")
        op = {"greater_than_equal": "以上", "less_than_equal": "以下"}.get(kind, "")
        return f"範囲外です（{bound}{op}）"
    return _MESSAGES.get(kind, str(error["msg"]))


def _header_key(header: str, keys: dict[str, str]) -> str | None:
    """The field key a header names: key, Japanese label, or ``label (key)``."""
    text = nfkc(header).strip()
    m = re.fullmatch(r".*?\(\s*([A-Za-z_]+)\s*\)", text)
    if m and m[1].lower() in keys.values():
        return m[1].lower()
    lowered = text.lower()
    if lowered in keys.values():
        return lowered
    return keys.get(text)


def read_records(
    path: str | Path,
    model: type[Record],
    *,
    vocabulary: Vocabulary | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> ReadResult:
    """Read one file of ``model`` records; see the module docstring.

    Raises:
        InputError: the file cannot be read as a table, or lacks a required column (named).
    """
    vocab = vocabulary or Vocabulary.default()
    frame = read_table(path, sheet=sheet, encoding=encoding)
    if isinstance(frame, gpd.GeoDataFrame):
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    report = ValidationReport(path=str(path), kind=model.__name__, rows_read=len(frame))

    labels = headers(model)
    keys = {title: key for key, title in labels.items()}
    mapping: dict[str, str] = {}
    passthrough: list[str] = []
    # The coordinate columns are found by the one detector (lng/lat, lon/lat, 経度/緯度 …).
    coords = coordinate_columns(frame.columns) if "lng" in keys.values() else None
    coordinate_keys = dict(zip(coords, ("lng", "lat"), strict=True)) if coords else {}
    for column in frame.columns:
        key = coordinate_keys.get(str(column)) or _header_key(str(column), keys)
        if key is None or key in mapping.values():
            passthrough.append(str(column))
            report.problems.append(
                Problem(
                    None,
                    str(column),
                    "",
                    "この列は項目として読まず、そのまま残します"
                    if key is None
                    else f"{key} の列が重複しています; 最初の列を使います",
                    "warning",
                )
            )
        else:
            mapping[str(column)] = key
    missing = [k for k in REQUIRED[model] if k not in mapping.values()]
    if missing:
        raise InputError(
            "必須の列がありません: " + ", ".join(f"{labels[k]} ({k})" for k in missing),
            path=path,
            row=1,
            column=missing[0],
        )

    column_of = {key: column for column, key in mapping.items()}
    seen: dict[str, int] = {}
    records: list[dict[str, Any]] = []
    cells = frame.to_dict("records")
    for i, raw in enumerate(cells):
        row = i + 2
        data = {key: raw[column] for column, key in mapping.items()}
        try:
            record = model.model_validate(data, context=vocab)
        except PydanticValidationError as exc:
            for error in exc.errors():
                key = str(error["loc"][0]) if error["loc"] else "lat"
                column = column_of.get(key, key)
                value = raw.get(column, "")
                if not error["loc"]:
                    value = f"lat={data.get('lat', '')!s}, lng={data.get('lng', '')!s}"
                report.problems.append(Problem(row, column, str(value), _message(error)))
            continue
        ident = getattr(record, "id", "")
        if ident in seen:
            report.problems.append(
                Problem(
                    row, column_of["id"], ident, f"ID が重複しています（最初は {seen[ident]} 行目）"
                )
            )
            continue
        seen[ident] = row
        out = record.model_dump()
        out["row"] = row
        for column in passthrough:
            out[column] = raw[column]
        records.append(out)

    report.rows_valid = len(records)
    return ReadResult(records=_to_geo(records, model, passthrough), report=report)


def _to_geo(
    records: list[dict[str, Any]], model: type[Record], extra: list[str]
) -> gpd.GeoDataFrame:
    columns = ["row", *headers(model), *[c for c in extra if c not in model.model_fields]]
    frame = pd.DataFrame.from_records(records, columns=columns)
    if {"lat", "lng"} <= set(frame.columns) and len(frame):
        lng = pd.to_numeric(frame["lng"]).to_numpy(dtype=float)
        lat = pd.to_numeric(frame["lat"]).to_numpy(dtype=float)
        geometry = shapely.points(lng, lat)  # NaN coordinates give an empty point
        geometry[pd.isna(lng)] = None
    else:
        geometry = [None] * len(frame)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=STORE_CRS)


def read_organizations(path: str | Path, *, vocabulary: Vocabulary | None = None) -> ReadResult:
    """Member organisations (:class:`Organization`)."""
    return read_records(path, Organization, vocabulary=vocabulary)


def read_activities(
    path: str | Path,
    *,
    organizations: pd.DataFrame | Iterable[str] | None = None,
    vocabulary: Vocabulary | None = None,
) -> ReadResult:
    """Activities (:class:`Activity`); ``organization_id`` is checked against ``organizations``.

    Args:
        organizations: the organisation records (a frame with ``id``) or their ids; None skips
            the check.
    """
    ids: frozenset[str] | None = None
    if isinstance(organizations, pd.DataFrame):
        ids = frozenset(organizations["id"].astype(str))
    elif organizations is not None:
        ids = frozenset(str(i) for i in organizations)
    vocab = vocabulary or Vocabulary.default()
    if ids is not None:
        vocab = dataclasses.replace(vocab, organization_ids=ids)
    return read_records(path, Activity, vocabulary=vocab)


def read_consultations(path: str | Path, *, vocabulary: Vocabulary | None = None) -> ReadResult:
    """Consultation windows 相談窓口 (:class:`Consultation`)."""
    return read_records(path, Consultation, vocabulary=vocabulary)


def read_good_practices(
    path: str | Path | None = None, *, vocabulary: Vocabulary | None = None
) -> ReadResult:
    """Good practices 好事例 (:class:`GoodPractice`), by default the shipped ``good_practices.csv``."""
    return read_records(path or GOOD_PRACTICES_CSV, GoodPractice, vocabulary=vocabulary)


def to_table(
    records: pd.DataFrame, model: type[Record] | None = None, *, japanese_headers: bool = False
) -> pd.DataFrame:
    """Records as plain text cells for writing: lists joined by ``;``, dates ISO, no geometry.

    With ``model`` and ``japanese_headers`` the columns read ``テーマ (themes)`` as in the
    templates.
    """
    out = pd.DataFrame(records).drop(columns=["geometry"], errors="ignore").copy()

    def cell(value: object) -> str:
        if isinstance(value, list | tuple):
            return ";".join(str(v) for v in value)
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))  # a year read back as float from a column with gaps
        return str(value)

    for column in out.columns:
        out[column] = [cell(v) for v in out[column]]
    if japanese_headers and model is not None:
        labels = headers(model)
        out.columns = [f"{labels[c]} ({c})" if c in labels else c for c in out.columns]
    return out
