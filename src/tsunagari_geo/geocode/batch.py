"""The batch geocoding job: a member's table in, the same table with points and levels out.

Every input row comes out once, in input order, with its own columns plus :data:`OUT_COLUMNS`
(a name the input already uses gets the prefix ``geocode_``, so a published ``lat`` or ``city``
is kept and checked, never overwritten). Rows are processed in chunks; each finished chunk is
written to a journal folder beside the output (``.OUTPUT.journal/``: one file per chunk,
``chunk_NNNNNN.rows``, written to a temporary name and renamed, plus a ``manifest.json`` naming the input's hash and
the options). ``resume=True`` keeps the chunks already there (a chunk that does not read back
whole, as a power cut can leave an unsynced file, is read again), so a run killed
with SIGKILL and resumed writes the rows an uninterrupted run writes: the same bytes for CSV and
GeoJSON; XLSX and GeoPackage also carry the time they were written (workbook properties and zip
entry dates; ``last_change``), so their bytes differ while every cell is the same. The final output
and ``OUTPUT.failures.csv`` are written as one set (both complete before either is renamed,
the output last), then the journal is removed: the pair is complete when the journal is gone.
Temporaries a killed run left beside them are removed by the next run.

A CSV job reads and writes its tables as :class:`tsunagari_geo.tables.TextTable` and never
imports pandas or numpy (they cost more than the job's CSV I/O); the other formats, and the
coordinate check, import them when they need them.

Where the chunks are read is the :class:`ChunkRunner`'s business: here, one after the other
(:class:`LocalRunner`), or on the workers of a Dask cluster (``client=``, ``--dask``:
:class:`tsunagari_geo.geocode.on_dask.DaskRunner`). Both read rows with :class:`RowReader`,
and the journal, the order and the writing stay in :class:`BatchJob`, so the bytes are the
same either way and either resumes the other's journal.

Statuses are the geocoder's, plus ``overridden`` for a row an overrides file decided (its
``reason`` says ``override_town:N`` or ``override_point:N``, N the overrides file's row).
The failures file starts with ``行``, the spreadsheet row number of the input (header = 1), and
``対応``; it ends with ``候補`` (candidates) and ``もしかして`` (spelling suggestions).

Coordinate check: when the input has coordinates (lat/lng, 緯度/経度 …: the columns
:func:`tsunagari_geo.cells.coordinate_columns` finds) they are checked against the geocoded
address, the unit holding the point found by the pipeline's one locator
(:mod:`tsunagari_geo.reference.locator`): ``coord_check`` is ``missing`` (no usable point),
``outside_prefecture`` (in no Saitama unit), ``other_municipality`` (in a unit other than the
address's ``unit_code``; outside its city when the address leaves the ward of さいたま市
unknown), ``far_from_address`` (same unit but more than :data:`FAR_THRESHOLD_M` from the
town's representative point; level 3 only), ``ok``, or ``unchecked`` (the address itself has no
municipality). ``coord_distance_m`` is the distance in the region's metric CRS between the two points.

Headers: the codes keep their English names (``status``, ``reason`` …: programs read them, and
they never change); every column meant for a person has a Japanese header whatever the input's
language, because the secretariat reads the output in Excel: ``一致レベル`` beside ``level``
(0 住所として読めない, 1 都道府県まで, 2 市区町村まで, 3 町字まで), ``結果`` beside ``status``,
``理由`` beside ``reason`` (each code's text, joined by 「／」), ``緯度経度の確認`` beside
``coord_check``, and in the failures file ``対応``: what a person has to do (住所に市町村名がない,
丁目が辞書にない, 県外の住所, 候補が複数 …, see :mod:`tsunagari_geo.geocode.labels`), the rows
grouped by it in that order, by row within a group. XLSX output stores level, lat, lng and the
distance as numbers, in a sheet named ``データ``, with a ``集計`` (summary) sheet, a ``列の説明``
sheet (what each added column holds, :data:`tsunagari_geo.geocode.labels.COLUMN_MEANINGS`) and
the ``出典`` sheet. GeoJSON and GeoPackage output store the same numbers as numbers too.

``koaza`` is the 小字 the address names after its 大字 (``town``), when the dictionary has it:
the point is then the 小字's.

Every row gets both codes: ``unit_code`` (one of the 72 units; empty when the address names
only さいたま市 or a town in several of its wards) and ``muni_code`` (one of the 63).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tsunagari_geo.cells import coordinate_columns
from tsunagari_geo.errors import InputError
from tsunagari_geo.geocode.core import Geocoder, GeocodeResult
from tsunagari_geo.geocode.labels import (
    ACTION_COLUMN,
    CANDIDATES_COLUMN,
    ROW_COLUMN,
    SUGGESTIONS_COLUMN,
    action_for,
    action_order,
    column_meaning,
    coord_check_label,
    level_label,
    reason_label,
    status_label,
)
from tsunagari_geo.region import Region
from tsunagari_geo.settings import STORE_CRS
from tsunagari_geo.store import Store, open_store
from tsunagari_geo.tables import (
    TableFile,
    TextTable,
    atomic_path,
    output_format,
    read_text_table,
    remove_stale_temporaries,
    write_tables,
)
from tsunagari_geo.text import fold, normalize_address

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client

log = logging.getLogger(__name__)

#: What the geocoder decides for a row, as codes and numbers for programs (the journal's order).
RESULT_COLUMNS = (
    "unit_code",
    "muni_code",
    "pref",
    "city",
    "town",
    "koaza",
    "rest",
    "level",
    "lat",
    "lng",
    "status",
    "reason",
)
#: The words beside a code, for the person reading the table: label column → its code column.
LABEL_COLUMNS = {"一致レベル": "level", "結果": "status", "理由": "reason"}
#: Every column the job adds, each label right after its code.
OUT_COLUMNS = tuple(
    name
    for code in RESULT_COLUMNS
    for name in (code, *(label for label, of in LABEL_COLUMNS.items() if of == code))
)
COORD_COLUMNS = ("coord_check", "緯度経度の確認", "coord_distance_m")
#: Columns the typed formats (XLSX, GeoJSON, GeoPackage) store as numbers: Excel sorts and
#: filters them as numbers, and a program reading GeoJSON gets numbers, not text.
NUMBER_COLUMNS = ("level", "lat", "lng", "coord_distance_m")
#: Beyond this distance from the town's representative point a published point is questioned.
#: Saitama's 大字 in the hills (秩父, 飯能) span several km; 町丁目 in towns well under 1 km.
#: 2 km flags the published points that are in the wrong town without flagging big 大字.
FAR_THRESHOLD_M = 2000.0
#: Header names recognised as the address column, in order of preference (folded).
ADDRESS_HEADERS = ("住所", "所在地", "address", "住所1", "所在地住所", "事業所所在地", "addr")
#: Split address headers, joined in this order when there is no single address column.
SPLIT_HEADERS = (
    ("都道府県", "都道府県名"),
    ("市区町村", "市区町村名", "市町村", "市町村名"),
    ("町域", "町名", "町域名", "大字町丁目"),
    ("番地", "番地等", "丁目番地"),
)
#: Statuses that need a person (listed in OUTPUT.failures.csv).
NEEDS_PERSON = ("partial", "ambiguous", "outside_prefecture", "empty", "unmatched")
COORD_NEEDS_PERSON = ("outside_prefecture", "other_municipality", "far_from_address")
JOURNAL_VERSION = "4"
#: Rows kept for rows written alike (see RowReader.read); about 1 kB each.
MAX_READINGS = 200_000


@dataclass
class BatchSummary:
    """What a batch run did: rows, counts by status and level, where the files went."""

    rows: int
    by_status: dict[str, int]
    by_level: dict[int, int]
    coord_check: dict[str, int]
    output: Path
    failures: Path
    failures_count: int
    resumed_chunks: int = 0
    load_seconds: float = 0.0
    geocode_seconds: float = 0.0
    address_columns: list[str] = field(default_factory=list)
    #: rows of the failures file by what a person has to do (its 対応 column).
    by_action: dict[str, int] = field(default_factory=dict)


def failures_path(output: Path) -> Path:
    """``out.csv`` → ``out.failures.csv`` beside it."""
    return output.with_name(f"{output.stem}.failures.csv")


def journal_path(output: Path) -> Path:
    """The checkpoint folder beside the output."""
    return output.with_name(f".{output.name}.journal")


def find_address_columns(columns: Sequence[str], path: Path | None = None) -> list[str]:
    """The address column(s) of a table by header, or InputError listing the columns."""
    folded = {fold(str(c)).lower(): str(c) for c in columns}
    for header in ADDRESS_HEADERS:
        if header.lower() in folded:
            return [folded[header.lower()]]
    split = []
    for names in SPLIT_HEADERS:
        for name in names:
            if name in folded:
                split.append(folded[name])
                break
    if len(split) >= 2:
        return split
    for column in columns:
        if "住所" in str(column) or "所在地" in str(column):
            return [str(column)]
    raise InputError(
        "住所の列が見つかりません。--address-column で指定してください "
        f"(列: {', '.join(map(str, columns))})",
        path=path,
    )


def _file_hash(path: Path | None) -> str:
    if path is None:
        return ""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _format_float(value: float | None) -> str:
    return "" if value is None else repr(round(float(value), 7))


@dataclass(frozen=True)
class Override:
    """One row of an overrides file: a town to geocode, or a point, for an id or address."""

    row: int
    town: str
    lat: float | None
    lng: float | None


def read_overrides(path: Path) -> tuple[dict[str, Override], dict[str, Override]]:
    """Read an overrides CSV: ``id`` or ``address``, and ``town`` or ``lat``+``lng``.

    Returns (by id, by exact address). Raises InputError naming row, column and value.
    """
    table = read_text_table(path)
    columns = set(table.columns)
    if not ({"id", "address"} & columns) or not ({"town", "lat"} & columns):
        raise InputError(
            "上書きファイルには id か address の列と、town か lat,lng の列が必要です "
            f"(列: {', '.join(table.columns)})",
            path=path,
        )
    by_id: dict[str, Override] = {}
    by_address: dict[str, Override] = {}
    names = list(table.columns)
    for n, cells in enumerate(table.records(), start=2):
        record = dict(zip(names, cells, strict=True))
        town = str(record.get("town", "") or "").strip()
        lat = lng = None
        if str(record.get("lat", "") or "").strip() or str(record.get("lng", "") or "").strip():
            try:
                lat, lng = float(record["lat"]), float(record["lng"])
            except (KeyError, ValueError) as exc:
                raise InputError(
                    "緯度経度が数値ではありません",
                    path=path,
                    row=n,
                    column="lat/lng",
                    value=(record.get("lat"), record.get("lng")),
                ) from exc
            if not (-90 <= lat <= 90 and -180 <= lng <= 180):
                raise InputError("緯度経度の範囲外です", path=path, row=n, value=(lat, lng))
        if not town and lat is None:
            raise InputError("town も lat,lng も空です", path=path, row=n)
        override = Override(n, town, lat, lng)
        if str(record.get("id", "") or "").strip():
            by_id[str(record["id"]).strip()] = override
        elif str(record.get("address", "") or "").strip():
            by_address[str(record["address"]).strip()] = override
        else:
            raise InputError("id も address も空です", path=path, row=n)
    return by_id, by_address


@dataclass(frozen=True)
class RowRules:
    """What decides a row besides the geocoder: the overrides (by id, by exact address) and
    the file they came from. Small and picklable: a Dask task carries it to a worker."""

    by_id: dict[str, Override] = field(default_factory=dict)
    by_address: dict[str, Override] = field(default_factory=dict)
    overrides_path: Path | None = None


class RowReader:
    """Reads rows into cells: the geocoder, the overrides, the optional remote fallback, and
    the rows already read alike. One per job in a single process; one per worker process
    on a Dask cluster (:mod:`tsunagari_geo.geocode.on_dask`), so both write the same cells."""

    def __init__(
        self,
        geocoder: Geocoder,
        rules: RowRules,
        fallback: Callable[[GeocodeResult], GeocodeResult] | None = None,
    ) -> None:
        self.geocoder = geocoder
        self.by_id = rules.by_id
        self.by_address = rules.by_address
        self.overrides_path = rules.overrides_path
        self.fallback = fallback
        self._rows: dict[tuple[str, str], list[str]] = {}

    def read_chunk(
        self, addresses: Sequence[tuple[str, str]], ids: Sequence[str]
    ) -> list[list[str]]:
        """The cells of consecutive rows: (address, context) and id per row."""
        return [
            self.read(address, context, row_id)
            for (address, context), row_id in zip(addresses, ids, strict=True)
        ]

    def read(self, address: str, context: str, row_id: str) -> list[str]:
        """One row's cells, in RESULT_COLUMNS order, then candidates and suggestions (for the
        failures file).

        Read once per written form: the geocoder reads only the normalised text (NFKC, one
        dash, no doubled spaces), so rows whose address and context normalise alike (６−４−４
        and 6-4-4, a repeated address) get the same cells, none of which is the input itself.
        A member list repeats addresses; spelling variants of one address collapse. A row an
        override decides is read on its own.
        """
        override = None
        if self.by_id:
            override = self.by_id.get(row_id.strip())
        if override is None and self.by_address:
            override = self.by_address.get((context + address).strip())
        key = (normalize_address(address), normalize_address(context) if context else "")
        if override is None:
            known = self._rows.get(key)
            if known is not None:
                return known
        result = self.geocoder.geocode(address, context or None)
        if override is not None:
            result = self._apply_override(result, override, context + address)
        elif self.fallback is not None and result.level < 3:
            result = self.fallback(result)
        row = [
            result.unit_code,
            result.muni_code,
            result.pref,
            result.city,
            result.town,
            result.koaza,
            result.rest,
            str(result.level),
            _format_float(result.lat),
            _format_float(result.lng),
            result.status,
            result.reason,
            "|".join(result.candidates),
            "|".join(result.suggestions),
        ]
        if override is None:
            if len(self._rows) >= MAX_READINGS:
                self._rows.clear()  # bounded memory on a huge list of distinct addresses
            self._rows[key] = row
        return row

    def _apply_override(
        self, result: GeocodeResult, override: Override, address: str
    ) -> GeocodeResult:
        if override.town:
            # The override names a town, with or without its municipality; the address's own
            # municipality fills in when it does not.
            town = self.geocoder.geocode(override.town, result.city or address)
            if town.level < 3:
                raise InputError(
                    f"上書きの町名を辞書で特定できません ({town.status}: {town.reason})",
                    path=self.overrides_path,
                    row=override.row,
                    column="town",
                    value=override.town,
                )
            town.input, town.normalized = result.input, result.normalized
            town.status, town.reason = "overridden", f"override_town:{override.row}"
            return town
        result.lat, result.lng = override.lat, override.lng
        result.status = "overridden"
        result.reason = f"override_point:{override.row}"
        return result


#: One chunk to read: its number in the journal, then (address, context) and id per row.
ChunkTask = tuple[int, list[tuple[str, str]], list[str]]


class ChunkRunner(Protocol):
    """Reads chunks into cells, yielding ``(number, cells)`` as each is done, in any order."""

    def __call__(self, tasks: Iterable[ChunkTask]) -> Iterator[tuple[int, list[list[str]]]]: ...

    @property
    def load_seconds(self) -> float:
        """Seconds the dictionary took to load (the longest, where several loaded one)."""
        ...


class LocalRunner:
    """Reads the chunks here, one after the other, with one :class:`RowReader`."""

    def __init__(self, reader: RowReader) -> None:
        self.reader = reader

    def __call__(self, tasks: Iterable[ChunkTask]) -> Iterator[tuple[int, list[list[str]]]]:
        for k, addresses, ids in tasks:
            yield k, self.reader.read_chunk(addresses, ids)

    @property
    def load_seconds(self) -> float:
        return self.reader.geocoder.load_seconds


class BatchJob:
    """One run of the batch job; see :func:`geocode_table` for the arguments."""

    def __init__(
        self,
        input_path: Path,
        output: Path,
        *,
        geocoder: Geocoder | None,
        store: Store,
        address_columns: Sequence[str] | None = None,
        id_column: str | None = None,
        encoding: str | None = None,
        overrides: Path | None = None,
        chunk_size: int = 1000,
        fallback: Callable[[GeocodeResult], GeocodeResult] | None = None,
    ) -> None:
        self.input_path = input_path
        self.output = output
        # None when the rows are read elsewhere (a Dask cluster): the client never loads it.
        self.geocoder = geocoder
        self.store = store
        self.encoding = encoding
        self.chunk_size = max(1, chunk_size)
        self.fallback = fallback
        self.overrides_path = overrides
        if not output.parent.is_dir():
            raise InputError("出力先のフォルダがありません", path=output)
        # Every input column comes out; only a geo file's own geometry is not a column of ours.
        self.table = read_text_table(input_path, encoding=encoding)
        columns = list(self.table.columns)
        if address_columns:
            missing = [c for c in address_columns if c not in columns]
            if missing:
                raise InputError(
                    f"住所の列 {missing[0]!r} がありません (列: {', '.join(columns)})",
                    path=input_path,
                    column=missing[0],
                )
            self.address_columns = list(address_columns)
        else:
            self.address_columns = find_address_columns(columns, input_path)
        if id_column is not None and id_column not in columns:
            raise InputError(
                f"ID の列 {id_column!r} がありません (列: {', '.join(columns)})",
                path=input_path,
                column=id_column,
            )
        self.id_column = id_column
        by_id, by_address = read_overrides(overrides) if overrides else ({}, {})
        if by_id and id_column is None:
            raise InputError("id で上書きするには --id-column が必要です", path=overrides)
        self.rules = RowRules(by_id, by_address, overrides)
        self.coords = coordinate_columns(columns)
        self.input_columns = columns
        out = [*OUT_COLUMNS, *(COORD_COLUMNS if self.coords else ())]
        # Case-insensitive: GeoPackage (and Excel users) treat Lat and lat as the same column.
        taken = {c.casefold() for c in columns}
        self.out_names = {c: (f"geocode_{c}" if c.casefold() in taken else c) for c in out}

    # --- the journal -------------------------------------------------------------------------

    def _manifest(self) -> dict[str, Any]:
        return {
            "version": JOURNAL_VERSION,
            "input": str(self.input_path.resolve()),
            "input_sha256": _file_hash(self.input_path),
            "overrides_sha256": _file_hash(self.overrides_path),
            "rows": len(self.table),
            "chunk_size": self.chunk_size,
            "address_columns": self.address_columns,
            "id_column": self.id_column,
            "encoding": self.encoding,
            "store": self.store.meta.get("imported_at", ""),
        }

    def _open_journal(self, resume: bool) -> Path:
        journal = journal_path(self.output)
        manifest = self._manifest()
        if journal.exists():
            kept = False
            if resume:
                with contextlib.suppress(OSError, json.JSONDecodeError):
                    kept = json.loads((journal / "manifest.json").read_text()) == manifest
            if not kept:
                shutil.rmtree(journal)
        if not journal.exists():
            try:
                journal.mkdir()
            except OSError as exc:
                raise InputError(
                    f"出力先に中間フォルダを作れません: {exc.strerror}", path=journal
                ) from exc
            with atomic_path(journal / "manifest.json") as tmp:
                tmp.write_text(json.dumps(manifest, ensure_ascii=False, sort_keys=True))
        return journal

    def _chunk_file(self, journal: Path, k: int) -> Path:
        return journal / f"chunk_{k:06d}.rows"

    def _kept_chunk(self, journal: Path, k: int, rows: int) -> list[list[str]] | None:
        """Chunk ``k`` as a killed run left it, or None to read it again: missing, or not
        ``rows`` rows of cells (a file a power cut left empty or cut short, or edited)."""
        path = self._chunk_file(journal, k)
        try:
            part = _decode_chunk(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            part = None
        width = len(RESULT_COLUMNS) + 2
        if (
            isinstance(part, list)
            and len(part) == rows
            and all(isinstance(r, list) and len(r) == width for r in part)
        ):
            return part
        log.warning("%s: 中間ファイルが壊れているため読み直します", path)
        with contextlib.suppress(OSError):
            path.unlink()
        return None

    # --- rows --------------------------------------------------------------------------------

    def _addresses(self) -> list[tuple[str, str]]:
        """(address, context) per row: the last address column, and the ones before it."""
        columns = [[c.strip() for c in self.table.columns[name]] for name in self.address_columns]
        if len(columns) == 1:
            return [(a, "") for a in columns[0]]
        out = []
        for parts in zip(*columns, strict=True):
            address, context = parts[-1], "".join(parts[:-1])
            # A split address whose last part (番地) is empty is all context.
            out.append((address, context) if address else (context, ""))
        return out

    # --- the run -----------------------------------------------------------------------------

    def run(
        self, *, resume: bool = False, progress: bool = True, runner: ChunkRunner | None = None
    ) -> BatchSummary:
        """Geocode every row, write the output and the failures file; return the summary.

        ``runner`` reads the chunks the journal lacks (default: here, with the job's geocoder;
        :class:`tsunagari_geo.geocode.on_dask.DaskRunner` on a cluster). Chunks may come back
        in any order: each is journalled under its number, and the output is assembled in
        input order from the journal, so where a chunk was read changes no byte.
        """
        from rich.console import Console
        from rich.progress import Progress

        if runner is None:
            if self.geocoder is None:
                raise ValueError("a job without a geocoder needs a runner")
            runner = LocalRunner(RowReader(self.geocoder, self.rules, self.fallback))

        journal = self._open_journal(resume)
        remove_stale_temporaries(self.output)
        remove_stale_temporaries(failures_path(self.output))
        addresses = self._addresses()
        ids = (
            self.table.columns[self.id_column]
            if self.id_column is not None
            else [""] * len(addresses)
        )
        n = len(addresses)
        chunks = (n + self.chunk_size - 1) // self.chunk_size
        started = time.perf_counter()

        def bounds(k: int) -> tuple[int, int]:
            return k * self.chunk_size, min(n, (k + 1) * self.chunk_size)

        # The chunks a killed run left are read back; the rest are read now and kept in memory.
        done: dict[int, list[list[str]]] = {}
        for k in range(chunks):
            lo, hi = bounds(k)
            kept = self._kept_chunk(journal, k, hi - lo)
            if kept is not None:
                done[k] = kept
        resumed = len(done)
        pending = [k for k in range(chunks) if k not in done]

        tasks = ((k, addresses[slice(*bounds(k))], ids[slice(*bounds(k))]) for k in pending)
        left = sum(hi - lo for lo, hi in map(bounds, pending))
        with Progress(console=Console(stderr=True), transient=True, disable=not progress) as bar:
            task = bar.add_task("ジオコーディング中", total=n, completed=n - left)
            for k, rows in runner(tasks):
                # One file per chunk, renamed into place only when complete: a
                # chunk file either holds all its rows or does not exist. Not fsynced: a
                # killed process loses nothing the kernel has, and a chunk a power cut left
                # unreadable is read again (see _kept_chunk).
                with atomic_path(self._chunk_file(journal, k), durable=False) as tmp:
                    tmp.write_text(_encode_chunk(rows), encoding="utf-8")
                done[k] = rows
                bar.update(task, advance=len(rows))
        elapsed = time.perf_counter() - started
        results: list[list[str]] = []
        for k in range(chunks):
            results.extend(done[k])
        summary = self._write(results)
        summary.resumed_chunks = resumed
        summary.geocode_seconds = elapsed
        summary.load_seconds = runner.load_seconds
        shutil.rmtree(journal, ignore_errors=True)
        return summary

    def _write(self, results: list[list[str]]) -> BatchSummary:
        region = self.store.region
        fmt = output_format(self.output)
        n = len(results)
        width = len(RESULT_COLUMNS)
        by_column = list(zip(*results, strict=True)) if results else [()] * (width + 2)
        ours: dict[str, list[str]] = {
            name: list(cells) for name, cells in zip(RESULT_COLUMNS, by_column, strict=False)
        }
        candidates, suggestions = by_column[width], by_column[width + 1]
        words = {
            "一致レベル": level_label,
            "結果": lambda code: status_label(code, region),
            "理由": lambda code: reason_label(code, region),
        }
        for label, code_column in LABEL_COLUMNS.items():
            ours[label] = _labelled(ours[code_column], words[label])
        if self.coords:
            check, distance = self._check_coordinates(ours)
            ours["coord_check"] = check
            ours["緯度経度の確認"] = _labelled(check, lambda code: coord_check_label(code, region))
            ours["coord_distance_m"] = distance
        added = {self.out_names[c]: ours[c] for c in self.out_names}
        out = TextTable({**{c: self.table.columns[c] for c in self.input_columns}, **added}, n)
        status, reason = ours["status"], ours["reason"]
        coord = ours.get("coord_check")
        by_status = dict(Counter(status))
        by_level = {int(k): v for k, v in Counter(ours["level"]).items()}
        coord_counts = dict(Counter(coord)) if coord is not None else {}
        if fmt == "csv":
            output = TableFile(out, self.output)
        else:
            extra = {
                "集計": _summary_frame(by_status, by_level, coord_counts, region),
                "列の説明": self._column_guide(list(added), region),
            }
            output = TableFile(self._typed(out), self.output, sheet="データ", extra_sheets=extra)
        needs = [
            i
            for i in range(n)
            if status[i] in NEEDS_PERSON or (coord is not None and coord[i] in COORD_NEEDS_PERSON)
        ]
        actions = {
            i: action_for(
                status[i],
                reason[i],
                [s for s in suggestions[i].split("|") if s],
                region,
                coord[i] if coord is not None else "",
            )
            for i in needs
        }
        # Grouped by what a person has to do, in the order of labels.action_order, then by row.
        order = {label: k for k, label in enumerate(action_order(region))}
        needs.sort(key=lambda i: order.get(actions[i], len(order)))
        taken = set(out.columns)
        row_name = _free_name(ROW_COLUMN, taken)
        taken.add(row_name)
        action_name = _free_name(ACTION_COLUMN, taken)
        taken.add(action_name)
        listed = out.take(needs).columns
        failures = {
            row_name: [str(i + 2) for i in needs],
            action_name: [actions[i] for i in needs],
            **listed,
        }
        for name, values in ((CANDIDATES_COLUMN, candidates), (SUGGESTIONS_COLUMN, suggestions)):
            free = _free_name(name, taken)
            failures[free] = [values[i] for i in needs]
            taken.add(free)
        failures_file = failures_path(self.output)
        # One set: both complete before either is renamed, the output last. A run killed
        # between the two renames still has its journal, so the set is complete exactly when
        # the journal is gone, and a resumed run renames both again from the same chunks.
        write_tables([(TextTable(failures, len(needs)), failures_file), output])
        counted = Counter(actions.values())
        return BatchSummary(
            rows=n,
            by_status=by_status,
            by_level=by_level,
            coord_check=coord_counts,
            output=self.output,
            failures=failures_file,
            failures_count=len(needs),
            address_columns=self.address_columns,
            by_action={a: counted[a] for a in action_order(region) if a in counted},
        )

    def _column_guide(self, added: list[str], region: Region) -> pd.DataFrame:
        """The XLSX 列の説明 sheet: every column the job added (as named in this output) and
        what it holds, then the failures file's own columns."""
        import pandas as pd

        code_of = {name: code for code, name in self.out_names.items()}
        names = [*added, ROW_COLUMN, ACTION_COLUMN, CANDIDATES_COLUMN, SUGGESTIONS_COLUMN]
        rows = [
            (name, "要確認ファイルのみ" if name not in code_of else "出力と要確認ファイル",
             column_meaning(code_of.get(name, name), region))
            for name in names
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=["列", "ファイル", "意味"])

    def _typed(self, out: TextTable) -> pd.DataFrame:
        """The output as a frame for the formats with types: the numbers (level, lat, lng, the
        distance) as numbers, an empty one as a missing value; GeoJSON and GeoPackage also get
        a point per row from lat/lng."""
        import pandas as pd

        fmt = output_format(self.output)
        frame = out.frame()
        for name in NUMBER_COLUMNS:
            column = self.out_names.get(name)
            if column is not None:
                frame[column] = pd.to_numeric(frame[column].replace("", None), errors="coerce")
        if fmt == "xlsx":
            return frame
        import geopandas as gpd
        from shapely import points as make_points

        lat, lng = frame[self.out_names["lat"]], frame[self.out_names["lng"]]
        geometry = [
            None if pd.isna(x) or pd.isna(y) else make_points(float(x), float(y))
            for x, y in zip(lng, lat, strict=True)
        ]
        if "geometry" in frame.columns:
            # A text column called geometry in the input stays a column of its own.
            geometry_name = _free_name("geocode_geometry", set(frame.columns))
            frame[geometry_name] = gpd.GeoSeries(geometry, index=frame.index, crs=STORE_CRS)
            return gpd.GeoDataFrame(frame, geometry=geometry_name, crs=STORE_CRS)
        return gpd.GeoDataFrame(frame, geometry=geometry, crs=STORE_CRS)

    def _check_coordinates(self, ours: dict[str, list[str]]) -> tuple[list[str], list[str]]:
        """coord_check and coord_distance_m for every row (vectorised over all rows)."""
        import geopandas as gpd
        import numpy as np
        import pandas as pd
        from shapely import points as make_points

        from tsunagari_geo.reference.locator import store_locator, unit_codes_at

        assert self.coords is not None
        lng_col, lat_col = self.coords

        def numbers(cells: list[str]) -> pd.Series:
            return pd.to_numeric(pd.Series(cells, dtype=object).replace("", None), errors="coerce")

        given_lat = numbers(self.table.columns[lat_col])
        given_lng = numbers(self.table.columns[lng_col])
        valid = (
            given_lat.notna()
            & given_lng.notna()
            & given_lat.between(-90, 90)
            & given_lng.between(-180, 180)
            & ~((given_lat == 0) & (given_lng == 0))
        ).to_numpy()
        n = len(ours["level"])
        given = gpd.GeoSeries(
            [
                make_points(float(x), float(y)) if ok else None
                for x, y, ok in zip(given_lng, given_lat, valid, strict=True)
            ],
            crs=STORE_CRS,
        )
        units = self.store.units[["code", "parent_code"]]
        # The one locator of the pipeline: a border point is in the same unit as for the join.
        unit_of = unit_codes_at(
            store_locator(self.store),
            given_lng.where(valid, np.nan).to_numpy(dtype=float),
            given_lat.where(valid, np.nan).to_numpy(dtype=float),
        )
        our_lat, our_lng = numbers(ours["lat"]), numbers(ours["lng"])
        ours_valid = (our_lat.notna() & our_lng.notna()).to_numpy()
        mine = gpd.GeoSeries(
            [
                make_points(float(x), float(y)) if ok else None
                for x, y, ok in zip(our_lng, our_lat, ours_valid, strict=True)
            ],
            crs=STORE_CRS,
        )
        both = valid & ours_valid
        distance = np.full(n, np.nan)
        if both.any():
            a = given[both].to_crs(self.store.region.metric_crs)
            b = mine[both].to_crs(self.store.region.metric_crs)
            distance[both] = a.distance(b, align=False).to_numpy()
        parent = dict(zip(units["code"], units["parent_code"].fillna(""), strict=True))
        checks: list[str] = []
        for i in range(n):
            unit, muni = ours["unit_code"][i], ours["muni_code"][i]
            level = int(ours["level"][i])
            # With its ward unknown, an address in さいたま市 is checked against the city only.
            elsewhere = (
                unit_of[i] != unit if unit else (parent.get(unit_of[i]) or unit_of[i]) != muni
            )
            if not valid[i]:
                checks.append("missing")
            elif not unit_of[i]:
                checks.append("outside_prefecture")
            elif level < 2 or not muni:
                checks.append("unchecked")
            elif elsewhere:
                checks.append("other_municipality")
            elif level >= 3 and distance[i] > FAR_THRESHOLD_M:
                checks.append("far_from_address")
            else:
                checks.append("ok")
        shown = ["" if np.isnan(d) else str(round(float(d))) for d in distance]
        return checks, shown


def geocode_table(
    input_path: str | Path,
    output: str | Path,
    *,
    geocoder: Geocoder | None = None,
    store: Store | None = None,
    address_columns: Sequence[str] | None = None,
    id_column: str | None = None,
    encoding: str | None = None,
    overrides: str | Path | None = None,
    resume: bool = False,
    chunk_size: int = 1000,
    progress: bool = False,
    fallback: Callable[[GeocodeResult], GeocodeResult] | None = None,
    client: Client | None = None,
) -> BatchSummary:
    """Geocode every row of a CSV/XLSX/GeoJSON table into CSV, GeoJSON, GeoPackage or XLSX.

    Args:
        input_path: the member's table; the address column is found by header unless given.
        output: where to write; the format follows the extension. ``OUTPUT.failures.csv``
            beside it lists the rows that need a person.
        address_columns: one column, or several to join (都道府県, 市区町村, 町域, 番地; or
            ``city`` then ``address``): the last is the address, the others its context, used
            only when the address names no municipality, so nothing is doubled.
        id_column: the id used by ``overrides``.
        overrides: CSV with ``id`` or ``address`` and ``town`` or ``lat``/``lng``.
        resume: keep the chunks a killed run left in the journal.
        client: a Dask client: the chunks are read on its cluster's workers, each of which
            opens the store at ``store.location`` itself (see
            :mod:`tsunagari_geo.geocode.on_dask`); the output is the same, byte for byte,
            and the same journal resumes either way.

    Raises:
        InputError: unreadable input, unknown columns, bad overrides, unwritable output, a
            remote fallback asked for on a cluster.
    """
    if store is None:
        from tsunagari_geo.settings import get_settings

        store = open_store(get_settings().store)
    runner: ChunkRunner | None = None
    if client is not None:
        if fallback is not None:
            # The remote service allows one request a second per user: workers would only
            # queue behind it, each with its own limiter breaking that policy.
            raise InputError(
                "リモートの補完 (TSUNAGARI_GEOCODE_FALLBACK) は --dask と併用できません"
            )
    elif geocoder is None:
        geocoder = Geocoder.from_store(store)
    job = BatchJob(
        Path(input_path),
        Path(output),
        geocoder=geocoder,
        store=store,
        address_columns=address_columns,
        id_column=id_column,
        encoding=encoding,
        overrides=Path(overrides) if overrides else None,
        chunk_size=chunk_size,
        fallback=fallback,
    )
    if client is not None:
        from tsunagari_geo.geocode.on_dask import DaskRunner

        runner = DaskRunner(client, store, job.rules)
    return job.run(resume=resume, progress=progress, runner=runner)


#: The columns of :func:`summary_table`.
SUMMARY_COLUMNS = ("区分", "コード", "意味", "行数")


def summary_table(
    by_status: dict[str, int],
    by_level: dict[int, int],
    coord_check: dict[str, int],
    region: Region,
) -> list[tuple[str, str, str, int]]:
    """The counts of a run as rows for people (:data:`SUMMARY_COLUMNS`: 区分, コード, 意味,
    行数): the XLSX 集計 sheet and the CLI summary say the same."""
    rows: list[tuple[str, str, str, int]] = []
    for level, n in sorted(by_level.items()):
        rows.append(("一致レベル", str(level), level_label(level), n))
    for status, n in sorted(by_status.items(), key=lambda kv: (-kv[1], kv[0])):
        rows.append(("結果", status, status_label(status, region), n))
    for check, n in sorted(coord_check.items(), key=lambda kv: (-kv[1], kv[0])):
        rows.append(("緯度経度の確認", check, coord_check_label(check, region), n))
    return rows


def _summary_frame(
    by_status: dict[str, int],
    by_level: dict[int, int],
    coord_check: dict[str, int],
    region: Region,
) -> pd.DataFrame:
    """:func:`summary_table` as the XLSX 集計 sheet (行数 a number)."""
    import pandas as pd

    rows = summary_table(by_status, by_level, coord_check, region)
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


#: A journal chunk is its rows joined by the ASCII record separator and their cells by the
#: unit separator, behind the tag ``t``: ten times faster to write than JSON, on every chunk of
#: every job. A chunk with a cell holding a separator (no address reading has one: whitespace,
#: which they are, is collapsed) is JSON behind the tag ``j``.
_RS, _US = "\x1e", "\x1f"


def _encode_chunk(rows: list[list[str]]) -> str:
    text = _RS.join([_US.join(row) for row in rows])
    cells = sum(len(row) for row in rows)
    if text.count(_US) == cells - len(rows) and text.count(_RS) == len(rows) - 1:
        return "t" + text
    return "j" + json.dumps(rows, ensure_ascii=False)


def _decode_chunk(text: str) -> Any:
    """The rows of a chunk as :func:`_encode_chunk` wrote them; ValueError for anything else."""
    if text.startswith("t"):
        return [row.split(_US) for row in text[1:].split(_RS)]
    if text.startswith("j"):
        return json.loads(text[1:])
    raise ValueError("not a journal chunk")


def _labelled(codes: Sequence[str], label: Callable[[str], str]) -> list[str]:
    # A table has a handful of distinct codes: each is put into words once.
    words = {code: label(code) if code != "" else "" for code in set(codes)}
    return [words[code] for code in codes]


def _free_name(name: str, taken: set[str]) -> str:
    """``name``, or ``geocode_name``, ``geocode_name_2`` … : the first the input does not use
    (compared case-insensitively, as GeoPackage and Excel do)."""
    folded = {c.casefold() for c in taken}
    candidates = [name, f"geocode_{name}"]
    candidates += [f"geocode_{name}_{n}" for n in range(2, len(taken) + 3)]
    return next(c for c in candidates if c.casefold() not in folded)
