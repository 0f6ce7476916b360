"""Reading and writing the secretariat's tables: CSV, XLSX, GeoJSON and GeoPackage.

Members send spreadsheets in whatever encoding their office software uses, so
:func:`read_table` detects UTF-8, UTF-8 with BOM and CP932 (Shift_JIS), keeps every row in input
order and every cell as text (postal codes and ids keep their leading zeros), and reports rather
than drops what is odd (ragged rows, NUL bytes, blank lines). :func:`write_table` picks the format
from the extension, writes atomically (a temporary file in the same folder, then
:func:`os.replace`), neutralises spreadsheet formula injection in CSV and XLSX, and carries the
attribution where the format has room for it.

Row numbers in messages are spreadsheet row numbers: the header is row 1, the first data row is
row 2, as the secretariat sees them in Excel.

A batch job reads and writes its tables as :class:`TextTable` (text cells by column, what the
csv module reads): a CSV job then never imports pandas, which costs more than its whole CSV
I/O. :func:`read_table` gives the same cells as a DataFrame, for the analysis side.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import glob
import io
import json
import logging
import math
import os
import re
import sqlite3
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsunagari_geo.cells import coordinate_columns
from tsunagari_geo.errors import InputError, location
from tsunagari_geo.reference.attribution import REFERENCE_ATTRIBUTION
from tsunagari_geo.settings import STORE_CRS

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

log = logging.getLogger(__name__)

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
GEOJSON_SUFFIXES = (".geojson", ".json")
GPKG_SUFFIXES = (".gpkg",)
#: What :func:`write_table` writes, by extension (reading also takes .tsv, .txt and .xlsm).
OUTPUT_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
}
#: ``frame.attrs`` key holding what :func:`read_table` found odd but kept.
ISSUES_ATTR = "read_issues"
#: ``frame.attrs`` key holding the encoding a CSV was decoded with.
ENCODING_ATTR = "encoding"

#: A text cell starting with one of these is run as a formula by Excel and LibreOffice. The
#: full-width forms count too: a Japanese spreadsheet's input converts ＝＋－＠ to ASCII.
_FORMULA_START = ("=", "+", "-", "@", "＝", "＋", "－", "＠", "\t", "\r", "\n")
#: Leading blanks a spreadsheet may trim before it reads the rest of the cell as a formula.
_LEADING_BLANKS = " \t\r\n\u3000"
_FORMULA_FIRST = frozenset(_FORMULA_START)
#: The largest CSV cell read (characters); the csv module's default is 131,072.
_MAX_CELL = 2**31 - 1
#: Excel opens no cell longer than this; a longer one is refused, never cut short.
XLSX_MAX_CELL = 32_767
_PLAIN_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True)
class ReadIssue:
    """Something odd in an input table that was kept, not dropped (row is the spreadsheet row)."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        return f"{location(row=self.row, column=self.column)}: {self.message}"


@dataclass
class TextTable:
    """A table of text cells by column, every row in input order: what :func:`read_text_table`
    reads and :func:`write_tables` writes as it is (CSV) or as a DataFrame (other formats).

    ``columns`` maps each (unique) header to its cells, one ``str`` per row, ``""`` for empty;
    ``rows`` is the row count (a table may have columns and no rows). ``issues`` and
    ``encoding`` are what :func:`read_table` puts in ``frame.attrs``.
    """

    columns: dict[str, list[str]]
    rows: int
    issues: list[ReadIssue] = field(default_factory=list)
    encoding: str | None = None

    @classmethod
    def from_records(
        cls, header: Sequence[str], records: Sequence[Sequence[str]], **kwargs: Any
    ) -> TextTable:
        """From rows of cells; a short row is padded with empty cells."""
        width = len(header)
        if any(len(r) != width for r in records):
            records = [[*r, *[""] * (width - len(r))] for r in records]
        by_column = list(zip(*records, strict=True)) if records else [() for _ in header]
        return cls(
            {str(name): list(cells) for name, cells in zip(header, by_column, strict=True)},
            len(records),
            **kwargs,
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> TextTable:
        """A frame's columns (not a GeoDataFrame's geometry) as text cells."""
        geometry = frame.geometry.name if is_geoframe(frame) else None
        return cls(
            {
                str(c): [_cell_text(v) for v in frame[c]]
                for c in frame.columns
                if geometry is None or c != geometry
            },
            len(frame),
            issues=list(frame.attrs.get(ISSUES_ATTR, [])),
            encoding=frame.attrs.get(ENCODING_ATTR),
        )

    def __len__(self) -> int:
        return self.rows

    def take(self, index: Sequence[int]) -> TextTable:
        """The rows at ``index``, in that order."""
        return TextTable({c: [v[i] for i in index] for c, v in self.columns.items()}, len(index))

    def records(self) -> Iterator[tuple[str, ...]]:
        """The rows, each a tuple of cells in column order."""
        if not self.columns:
            return iter([()] * self.rows)
        return zip(*self.columns.values(), strict=True)

    def frame(self) -> pd.DataFrame:
        """The same cells as a DataFrame of text columns with a RangeIndex (pandas imported
        here, not before)."""
        import pandas as pd

        if not self.rows:
            return _empty(list(self.columns))
        frame = pd.DataFrame(self.columns, dtype=object, columns=list(self.columns)).astype(str)
        frame.attrs[ISSUES_ATTR] = list(self.issues)
        if self.encoding is not None:
            frame.attrs[ENCODING_ATTR] = self.encoding
        return frame


def read_text_table(
    path: str | Path, *, encoding: str | None = None, sheet: str | int | None = None
) -> TextTable:
    """:func:`read_table` as a :class:`TextTable`: the same cells, checks and issues; a
    GeoJSON or GeoPackage's geometry is not a column (its points' ``lon``/``lat`` are). A CSV
    is read without pandas."""
    path = Path(path)
    if path.suffix.lower() in CSV_SUFFIXES and path.is_file():
        table = _read_csv(path, encoding)
        for issue in table.issues:
            log.warning("%s: %s", path, issue)
        return table
    return TextTable.from_frame(read_table(path, encoding=encoding, sheet=sheet))


def read_table(
    path: str | Path,
    *,
    encoding: str | None = None,
    sheet: str | int | None = None,
    columns_as_str: bool = True,
) -> pd.DataFrame:
    """Read a CSV, XLSX, GeoJSON or GeoPackage table, keeping every row in input order.

    Args:
        path: the file; the format comes from the extension (.csv/.tsv/.txt, .xlsx/.xlsm,
            .geojson/.json, .gpkg).
        encoding: CSV only; skips detection (e.g. ``"cp932"``).
        sheet: XLSX sheet name or 0-based index (default: the first sheet); GeoPackage layer
            name or index (default: the first layer).
        columns_as_str: every cell as ``str`` with ``""`` for empty (the default, so ``00123``
            stays ``00123``); False converts columns whose every non-empty cell is a number.

    Returns:
        A DataFrame with a default RangeIndex in input order. For GeoJSON and GeoPackage a
        GeoDataFrame in EPSG:4326: the geometry stays in ``geometry`` and, for Point layers,
        ``lon`` and ``lat`` text columns are added (unless the file has columns of those names)
        so later steps can treat geo files like tables with coordinates. ``frame.attrs`` holds
        ``read_issues`` (a list of :class:`ReadIssue`: ragged rows, NUL bytes, blank lines,
        renamed duplicate headers) and, for CSV, ``encoding``.

    Raises:
        InputError: the file is missing, unreadable, in an unknown encoding (naming the row and
            the bytes), or not a table.

    >>> read_table("members.csv").columns.tolist()  # doctest: +SKIP
    ['id', '住所', '郵便番号']
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("入力ファイルが見つかりません", path=path)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        frame = _read_csv(path, encoding).frame()
    elif suffix in XLSX_SUFFIXES:
        frame = _read_xlsx(path, sheet)
    elif suffix in GEOJSON_SUFFIXES or suffix in GPKG_SUFFIXES:
        frame = _read_geo(path, sheet)
    else:
        raise InputError(
            "対応していない形式です (CSV, XLSX, GeoJSON, GeoPackage のいずれか)",
            path=path,
            value=suffix,
        )
    for issue in frame.attrs.get(ISSUES_ATTR, []):
        log.warning("%s: %s", path, issue)
    if not columns_as_str:
        frame = _infer_numbers(frame)
    return frame


def output_format(path: str | Path) -> str:
    """The format :func:`write_table` writes to ``path`` (``csv``, ``xlsx``, ``geojson``,
    ``gpkg``), from its extension.

    Raises InputError naming the extension and the accepted ones: ``out.txt`` is refused, never
    silently written as CSV.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    fmt = OUTPUT_FORMATS.get(suffix)
    if fmt is None:
        accepted = ", ".join(OUTPUT_FORMATS)
        raise InputError(
            f"出力の拡張子 {suffix or '(なし)'!r} には対応していません (使えるのは {accepted})",
            path=path,
            value=suffix,
        )
    return fmt


def write_table(
    frame: pd.DataFrame,
    path: str | Path,
    *,
    attribution: Sequence[str] = REFERENCE_ATTRIBUTION,
    sheet: str = "data",
    extra_sheets: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """Write ``frame`` atomically as CSV, GeoJSON, GeoPackage or XLSX, chosen by extension.

    CSV is UTF-8 with BOM (so Excel opens it) and XLSX text cells are protected against formula
    injection: a text cell starting with ``= + - @`` tab or CR gets a leading apostrophe, plain
    numbers such as ``-1.5`` are left alone. GeoJSON gets a top-level ``"attribution"`` member,
    GeoPackage an ``attribution`` table and XLSX an ``出典`` sheet; CSV has no room for it.

    A frame without geometry written as GeoJSON or GeoPackage gets Point geometries from its
    coordinate columns (:func:`tsunagari_geo.cells.coordinate_columns`); rows without both get
    none.

    XLSX only: ``sheet`` names the data sheet and ``extra_sheets`` (name → table) are written
    after it, before ``出典``; numeric columns stay numbers (Excel sorts them as numbers).

    Returns the path written. Raises InputError for an extension :func:`output_format` refuses,
    when the folder is missing, read-only or full,
    or when an XLSX cell would be longer than Excel's 32,767 characters (naming row and column;
    a cell is never cut short); nothing is ever left under the final name unless the write
    completed.
    """
    path = Path(path)
    write_tables(
        [TableFile(frame, path, sheet=sheet, extra_sheets=extra_sheets)], attribution=attribution
    )
    return path


@dataclass(frozen=True)
class TableFile:
    """One file of a set for :func:`write_tables`: a table, where it goes and (XLSX only) the
    name of its data sheet and the sheets after it."""

    frame: pd.DataFrame | TextTable
    path: str | Path
    sheet: str = "data"
    extra_sheets: Mapping[str, pd.DataFrame] | None = None


def write_tables(
    items: Sequence[TableFile | tuple[pd.DataFrame | TextTable, str | Path]],
    *,
    attribution: Sequence[str] = REFERENCE_ATTRIBUTION,
) -> list[Path]:
    """Write several tables as one set, each as :func:`write_table` would: all or none.

    Every file is written to its temporary first; only when all are complete are they renamed
    into place, in the order given (see :func:`atomic_paths`), so a full disk or a refused cell
    in the last file leaves the earlier ones as they were. Returns the paths written. Raises
    InputError for an extension :func:`output_format` refuses, before anything is written.
    """
    files = [i if isinstance(i, TableFile) else TableFile(i[0], i[1]) for i in items]
    paths = [Path(f.path) for f in files]
    formats = [output_format(p) for p in paths]
    with atomic_paths(paths) as tmps:
        for item, path, tmp, fmt in zip(files, paths, tmps, formats, strict=True):
            try:
                table = item.frame
                if isinstance(table, TextTable):
                    if fmt == "csv":
                        _write_text_csv(table, tmp)
                        continue
                    table = table.frame()
                if fmt == "xlsx":
                    extra = dict(item.extra_sheets or {})
                    _write_xlsx(table, tmp, tuple(attribution), item.sheet, extra)
                else:
                    _WRITERS[fmt](table, tmp, tuple(attribution), path.stem)
            except InputError as exc:
                if exc.path is not None:
                    raise
                # A writer refusing a cell knows the row and column, not the file it is writing.
                raise InputError(
                    exc.message, path=path, row=exc.row, column=exc.column, value=exc.value
                ) from exc
    return paths


@contextlib.contextmanager
def atomic_path(path: Path, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync it and rename it into place.

    ``durable=False`` skips the fsyncs: the rename still makes the file whole or absent for
    every process, but a power cut may leave it empty. For files that are cheaper to write
    again than to fsync (the batch job's journal, which checks what it reads back).

    Raises InputError naming the target when the folder is missing, read-only or full; the
    temporary file is removed on any failure, so no half-written file ever has the final name.
    """
    with atomic_paths([path], durable=durable) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_paths(paths: Sequence[Path], *, durable: bool = True) -> Iterator[list[Path]]:
    """Yield one temporary path beside each of ``paths``; rename them all only if all succeed.

    Every temporary is written and fsynced before the first rename, so a full disk or an
    error in any of them leaves every final name as it was. The renames then go in the order
    given: put last the file a reader checks the others against (a manifest), so a reader
    that looks between two renames sees a set that does not match and keeps the one it has.
    Temporaries are named ``.NAME.XXXX.EXT``; :func:`remove_stale_temporaries` removes the
    ones a killed run left.

    Raises InputError naming the target when a folder is missing, read-only or full.
    """
    tmps: list[Path] = []
    try:
        for path in paths:
            tmps.append(_temporary_beside(path))
        try:
            yield tmps
        except OSError as exc:
            raise InputError(
                f"出力ファイルを書けませんでした: {exc.strerror or exc}", path=paths[0]
            ) from exc
        # mkstemp makes the file private (0600); give it the mode a plain open() would, so a
        # web server or a colleague can read the output.
        umask = os.umask(0)
        os.umask(umask)
        for path, tmp in zip(paths, tmps, strict=True):
            try:
                if durable:
                    with tmp.open("rb+") as f:
                        os.fsync(f.fileno())
                tmp.chmod(0o666 & ~umask)
            except OSError as exc:
                raise InputError(
                    f"出力ファイルを書けませんでした: {exc.strerror or exc}", path=path
                ) from exc
        _replace_all(paths, tmps)
        for folder in dict.fromkeys(_folder(p) for p in paths) if durable else ():
            _fsync_dir(folder)
    finally:
        for tmp in tmps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            # SQLite (a GeoPackage writer) may leave its rollback journal beside a temporary.
            with contextlib.suppress(FileNotFoundError):
                tmp.with_name(tmp.name + "-journal").unlink()


def _replace_all(paths: Sequence[Path], tmps: Sequence[Path]) -> None:
    # A rename that fails (a read-only remount, a quota) after others succeeded would leave a
    # mixed set: keep a hard link to each file replaced, and put them back on failure.
    renamed: list[tuple[Path, Path | None]] = []
    backups: list[Path] = []
    current = paths[0]
    try:
        for path, tmp in zip(paths, tmps, strict=True):
            current = path
            backup: Path | None = None
            if len(paths) > 1 and path.exists():
                backup = _temporary_beside(path)
                backups.append(backup)
                os.link(path, backup)
            os.replace(tmp, path)
            renamed.append((path, backup))
    except (OSError, InputError) as exc:
        for path, backup in reversed(renamed):
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, path)
                else:
                    path.unlink()
        if isinstance(exc, InputError):
            raise
        raise InputError(
            f"出力ファイルを書けませんでした: {exc.strerror or exc}", path=current
        ) from exc
    finally:
        for backup in backups:
            with contextlib.suppress(FileNotFoundError):
                backup.unlink()


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporaries a killed writer of ``path`` left beside it; return them.

    These are :func:`atomic_paths`' ``.NAME.XXXX.EXT`` files (and SQLite's ``-journal`` beside
    one of them), plus a ``NAME-journal`` left beside the final file: nothing but a rename
    ever writes the final name, so no live writer owns one. Run it before writing ``path``.
    """
    folder = _folder(path)
    stale = [*folder.glob(f".{glob.escape(path.name)}.*"), folder / f"{path.name}-journal"]
    removed = []
    for candidate in stale:
        if candidate.is_file():
            with contextlib.suppress(OSError):
                candidate.unlink()
                removed.append(candidate)
    return removed


def _folder(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _temporary_beside(path: Path) -> Path:
    folder = _folder(path)
    if not folder.is_dir():
        raise InputError("出力先のフォルダがありません", path=path)
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=path.suffix)
    except OSError as exc:
        raise InputError(f"出力先に書き込めません: {exc.strerror}", path=path) from exc
    os.close(fd)
    tmp = Path(name)
    # pyogrio refuses to write over an existing file for some drivers; start from nothing.
    tmp.unlink()
    return tmp


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the directory entry is on disk (POSIX only).
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def neutralize_formula(value: Any) -> Any:
    """Prefix ``'`` to a text cell a spreadsheet would run as a formula; numbers pass through.

    A formula character in full width (＝＋－＠) or after leading blanks (`` =1+2``) counts,
    and so does a leading tab or line break.

    >>> neutralize_formula("=HYPERLINK(1)"), neutralize_formula("-1.5"), neutralize_formula(-2)
    ("'=HYPERLINK(1)", '-1.5', -2)
    >>> neutralize_formula("＝1+2"), neutralize_formula(" @SUM(A1)"), neutralize_formula(" 浦和")
    ("'＝1+2", "' @SUM(A1)", ' 浦和')
    """
    if not isinstance(value, str) or _PLAIN_NUMBER_RE.fullmatch(value):
        return value
    if value.startswith(_FORMULA_START) or value.lstrip(_LEADING_BLANKS).startswith(_FORMULA_START):
        return "'" + value
    return value


def _starts_like_formula(text: str) -> bool:
    """Whether ``text`` starts with a formula character, after leading blanks or not."""
    first = text[:1]
    if first in _FORMULA_FIRST:
        return True
    return first in _LEADING_BLANKS and text.lstrip(_LEADING_BLANKS)[:1] in _FORMULA_FIRST


# --- reading -----------------------------------------------------------------------------------


def detect_encoding(data: bytes) -> str:
    """The encoding of a CSV's bytes: BOMs first, then strict UTF-8, CP932, charset-normalizer.

    Raises InputError naming the first undecodable line when nothing fits.
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if _utf8_lines(data) >= 2:
            # Lines pasted from another file: CP932 would also "decode" the UTF-8 lines, as
            # mojibake that no longer matches any address. Name the first line that is not UTF-8.
            raise _decode_error(data, exc, "utf-8", None, mixed=True) from exc
    else:
        return "utf-8"
    try:
        data.decode("cp932")
    except UnicodeDecodeError:
        pass
    else:
        return "cp932"
    import charset_normalizer  # only for the rare file neither UTF-8 nor CP932

    best = charset_normalizer.from_bytes(data).best()
    if best is not None:
        return str(best.encoding)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _decode_error(data, exc, "utf-8", None) from exc
    return "utf-8"  # pragma: no cover - unreachable, utf-8 failed above


def _utf8_lines(data: bytes) -> int:
    """Lines holding at least three multi-byte characters that are valid UTF-8.

    In a CP932 file a whole line of kanji is practically never also valid UTF-8, so two such
    lines in a file that is not UTF-8 as a whole mean a file of mixed encodings.
    """
    count = 0
    for line in data.splitlines():
        if sum(1 for b in line if b >= 0xC0) < 3:
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        count += 1
        if count >= 2:
            break
    return count


def _decode_error(
    data: bytes, exc: UnicodeDecodeError, encoding: str, path: Path | None, *, mixed: bool = False
) -> InputError:
    line = data.count(b"\n", 0, exc.start) + 1
    if mixed:
        return InputError(
            "UTF-8 の行と別の文字コード (CP932/Shift_JIS など) の行が混ざっています; "
            "ひとつの文字コードで保存し直してください",
            path=path,
            row=line,
            value=data[exc.start : exc.start + 8],
        )
    return InputError(
        f"{encoding} として読めないバイト列があります; 文字コードを --encoding で指定してください",
        path=path,
        row=line,
        value=data[exc.start : exc.start + 8],
    )


def _read_csv(path: Path, encoding: str | None) -> TextTable:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"入力ファイルを読めません: {exc.strerror}", path=path) from exc
    try:
        chosen = encoding or detect_encoding(data)
    except InputError as exc:
        raise InputError(exc.message, path=path, row=exc.row, value=exc.value) from exc
    try:
        text = data.decode(chosen)
    except LookupError as exc:
        raise InputError("不明な文字コード名です", path=path, value=chosen) from exc
    except UnicodeDecodeError as exc:
        raise _decode_error(data, exc, chosen, path) from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    delimiter = "\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(text)
    issues: list[ReadIssue] = []
    # The csv module refuses cells over 128 KiB by default; a member's 1 MB note is still a
    # cell to keep. The limit is process-wide and only ever raised here.
    csv.field_size_limit(max(csv.field_size_limit(), _MAX_CELL))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    declared = -1  # no header yet
    rows: list[list[str]] = []
    has_nul = "\x00" in text  # most files have none: their cells are then taken as read
    try:
        for record in reader:
            if len(record) == declared and not has_nul and (declared > 1 or record[0]):
                rows.append(record)  # a full row, as nearly all are: nothing to check or report
                continue
            row_no = len(rows) + 2
            if header is None:
                if not record or not any(c.strip() for c in record):
                    continue
                header = _clean_header([_strip_nul(c) for c in record], issues)
                declared = len(header)
                continue
            if not record or (len(record) == 1 and not record[0]):
                # Kept as a row of empty cells: in a one-column file it is an empty value, and
                # dropping it would shift every later row against the original.
                issues.append(ReadIssue(row_no, None, "空行を空の行として残しました"))
                record = []
            cells = record
            if has_nul:
                cells = []
                for i, cell in enumerate(record):
                    if "\x00" in cell:
                        name = header[i] if i < len(header) else None
                        issues.append(ReadIssue(row_no, name, "NUL 文字を取り除きました"))
                        cell = _strip_nul(cell)
                    cells.append(cell)
            if any(cells) and len(cells) < declared:
                issues.append(
                    ReadIssue(
                        row_no, None, f"列が {declared - len(cells)} 個足りないため空で補いました"
                    )
                )
            elif len(cells) > len(header):
                extra = len(cells) - len(header)
                for _ in range(extra):
                    header.append(_unique(f"_extra_{len(header) + 1}", header))
                issues.append(
                    ReadIssue(row_no, None, f"見出しより {extra} 個多い列を _extra_ 列に残しました")
                )
            rows.append(cells)
    except csv.Error as exc:
        # A malformed line (an unclosed quote before the end of the file) names its line.
        raise InputError(
            f"CSV として読めない行です: {exc}", path=path, row=reader.line_num
        ) from exc
    if header is None:
        raise InputError("見出し行がありません (空のファイル)", path=path)
    if declared > 1:
        # In a one-column file a blank line is an empty value, even the last one.
        _drop_trailing_blank(rows, issues)
    return TextTable.from_records(header, rows, issues=issues, encoding=chosen)


def _drop_trailing_blank(rows: list[list[str]], issues: list[ReadIssue]) -> None:
    # Blank rows after the last data row of a multi-column table are editor artefacts
    # (Excel's formatted-but-empty rows, a doubled final newline): a real row with empty
    # cells is written as ",,," instead. They are dropped and reported.
    last = len(rows)
    while rows and not rows[-1]:
        rows.pop()
    dropped = last - len(rows)
    if dropped:
        issues[:] = [i for i in issues if i.row < len(rows) + 2]
        issues.append(ReadIssue(len(rows) + 2, None, f"末尾の空行 {dropped} 行を除きました"))


def _sniff_delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return "\t" if first.count("\t") > first.count(",") else ","


def _strip_nul(cell: str) -> str:
    return cell.replace("\x00", "")


def _unique(name: str, taken: list[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}.{n}"
    return candidate


def _clean_header(record: list[str], issues: list[ReadIssue]) -> list[str]:
    header: list[str] = []
    for i, raw in enumerate(record):
        name = raw.strip() or f"column_{i + 1}"
        unique = _unique(name, header)
        if unique != raw:
            issues.append(ReadIssue(1, raw, f"見出しを {unique!r} としました"))
        header.append(unique)
    return header


def _empty(columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({c: pd.Series([], dtype=str) for c in columns})


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _read_xlsx(path: Path, sheet: str | int | None) -> pd.DataFrame:
    import openpyxl
    import pandas as pd
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise InputError(f"Excel ファイルとして読めません: {exc}", path=path) from exc
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif isinstance(sheet, int):
            ws = book.worksheets[sheet]
        else:
            ws = book[sheet]
    except (IndexError, KeyError) as exc:
        names = ", ".join(book.sheetnames)
        book.close()
        raise InputError(f"シートがありません (あるのは {names})", path=path, value=sheet) from exc
    issues: list[ReadIssue] = []
    header: list[str] | None = None
    rows: list[list[str]] = []
    try:
        for sheet_row, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in values]
            while cells and cells[-1] == "":
                cells.pop()
            if header is None:
                if cells:
                    header = _clean_header(cells, issues)
                continue
            if not cells:
                issues.append(ReadIssue(sheet_row, None, "空行を空の行として残しました"))
            if len(cells) > len(header):
                extra = len(cells) - len(header)
                for _ in range(extra):
                    header.append(_unique(f"_extra_{len(header) + 1}", header))
                issues.append(
                    ReadIssue(
                        sheet_row, None, f"見出しより {extra} 個多い列を _extra_ 列に残しました"
                    )
                )
            rows.append(cells)
    finally:
        book.close()
    if header is None:
        raise InputError("見出し行がありません (空のシート)", path=path)
    _drop_trailing_blank(rows, issues)
    width = len(header)
    frame = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], columns=header, dtype=object)
    frame = frame.astype(str) if rows else _empty(header)
    frame.attrs[ISSUES_ATTR] = issues
    return frame


def _read_geo(path: Path, layer: str | int | None) -> pd.DataFrame:
    import geopandas as gpd
    import pandas as pd
    import pyogrio
    import shapely

    unreadable = False
    try:
        with warnings.catch_warnings():
            # GDAL warns about each bad feature without naming it; the issues below name rows.
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                gdf = pyogrio.read_dataframe(path, layer=layer)
            except shapely.errors.GEOSException:
                # One unreadable geometry (an unclosed ring) must not make the whole file
                # unreadable: it becomes an empty geometry, reported by row below.
                gdf = pyogrio.read_dataframe(path, layer=layer, on_invalid="ignore")
                unreadable = True
    except Exception as exc:  # pyogrio raises several DataSourceError kinds
        raise InputError(f"地理データとして読めません: {exc}", path=path) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        frame = pd.DataFrame({c: [_cell_text(v) for v in gdf[c]] for c in gdf.columns})
        frame.attrs[ISSUES_ATTR] = []
        return frame
    if gdf.crs is not None and not gdf.crs.equals(STORE_CRS):
        gdf = gdf.to_crs(STORE_CRS)
    geometry = gdf.geometry
    out = pd.DataFrame(
        {c: [_cell_text(v) for v in gdf[c]] for c in gdf.columns if c != geometry.name},
        index=pd.RangeIndex(len(gdf)),
    )
    points = geometry.geom_type == "Point"
    if bool(points.any()) and "lon" not in out.columns and "lat" not in out.columns:
        out["lon"] = [_cell_text(g.x) if p else "" for g, p in zip(geometry, points, strict=True)]
        out["lat"] = [_cell_text(g.y) if p else "" for g, p in zip(geometry, points, strict=True)]
    result = gpd.GeoDataFrame(out, geometry=geometry.to_numpy(), crs=STORE_CRS)
    result.attrs[ISSUES_ATTR] = _geometry_issues(result.geometry, unreadable)
    return result


def _geometry_issues(geometry: gpd.GeoSeries, unreadable: bool) -> list[ReadIssue]:
    """Invalid (self-intersecting …) geometries by spreadsheet row (feature 1 = row 2) and,
    when some could not be read, the rows left without one."""
    import shapely

    issues = []
    values = geometry.to_numpy()
    missing = shapely.is_missing(values)
    reasons = shapely.is_valid_reason(values)
    for i, (absent, reason) in enumerate(zip(missing, reasons, strict=True)):
        if absent:
            if unreadable:
                issues.append(
                    ReadIssue(i + 2, "geometry", "ジオメトリがないか読めないため空にしました")
                )
        elif reason != "Valid Geometry":
            issues.append(ReadIssue(i + 2, "geometry", f"不正なジオメトリです ({reason})"))
    return issues


def _infer_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    frame = frame.copy()
    for column in frame.columns:
        if column == "geometry":
            continue
        values = frame[column].replace("", None)
        converted = pd.to_numeric(values, errors="coerce")
        if bool((converted.notna() == values.notna()).all()) and bool(values.notna().any()):
            frame[column] = converted
    return frame


# --- writing -----------------------------------------------------------------------------------


def is_geoframe(frame: object) -> bool:
    """Whether ``frame`` is a GeoDataFrame, without importing geopandas: a frame can only be one
    once geopandas is imported, and a CSV job never needs it (it is slow to import)."""
    gpd = sys.modules.get("geopandas")
    return gpd is not None and isinstance(frame, gpd.GeoDataFrame)


def _text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A plain DataFrame for CSV/XLSX: geometry as WKT, formula-like text neutralised."""
    import pandas as pd

    out = pd.DataFrame(frame).copy()
    if is_geoframe(frame) and frame.geometry.name in out.columns:
        name = frame.geometry.name
        out[name] = [g.wkt if g is not None and not g.is_empty else "" for g in frame.geometry]
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            values = out[column].astype(object)
            # Only a column holding a formula-like cell is rewritten.
            cells = values.tolist()
            safe = _neutralized(cells)
            if safe is not cells:
                values = pd.Series(safe, index=values.index, dtype=object, name=values.name)
            out[column] = values
    out.columns = [str(neutralize_formula(str(c))) for c in out.columns]
    return out


def _neutralized(cells: list[Any]) -> list[Any]:
    """``cells`` with every formula-like text neutralised; the same list when none is.

    Each distinct cell is tested once: a whole job's output has hundreds of thousands of
    cells, most columns few distinct values and nearly none starting like a formula.
    """
    risky = {v for v in set(cells) if isinstance(v, str) and _starts_like_formula(v)}
    if not risky:
        return cells
    return [neutralize_formula(v) if v in risky else v for v in cells]


def _write_text_csv(table: TextTable, tmp: Path) -> None:
    """A :class:`TextTable` as :func:`_write_csv` writes a frame, through the csv module."""
    header = [str(neutralize_formula(c)) for c in table.columns]
    columns = [_neutralized(cells) for cells in table.columns.values()]
    with tmp.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(zip(*columns, strict=True) if columns else [()] * table.rows)
        f.flush()


def _write_csv(frame: pd.DataFrame, tmp: Path, attribution: tuple[str, ...], name: str) -> None:
    del attribution, name  # CSV has no place for it that every reader would skip
    text = _text_frame(frame)
    with tmp.open("w", encoding="utf-8-sig", newline="") as f:
        text.to_csv(f, index=False, lineterminator="\r\n")
        f.flush()


def _write_xlsx(
    frame: pd.DataFrame,
    tmp: Path,
    attribution: tuple[str, ...],
    sheet_name: str,
    extra_sheets: dict[str, pd.DataFrame],
) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    for name, table in {sheet_name: frame, **extra_sheets}.items():
        text = _text_frame(table)
        _check_xlsx_cells(text)
        sheet = book.create_sheet(name)
        sheet.append([str(c) for c in text.columns])
        for record in text.itertuples(index=False, name=None):
            sheet.append([_xlsx_value(v) for v in record])
    if attribution:
        source = book.create_sheet("出典")
        for line in attribution:
            source.append([line])
    book.save(tmp)


def _check_xlsx_cells(text: pd.DataFrame) -> None:
    """Refuse, naming row and column, a cell longer than Excel opens (never cut it short)."""
    import numpy as np
    import pandas as pd

    for column in text.columns:
        values = text[column]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
            continue
        lengths = values.map(lambda v: len(v) if isinstance(v, str) else 0).to_numpy()
        too_long = np.flatnonzero(lengths > XLSX_MAX_CELL)
        if len(too_long):
            i = int(too_long[0])
            raise InputError(
                f"Excel のセルは {XLSX_MAX_CELL:,} 文字までです ({int(lengths[i]):,} 文字); "
                "CSV か GeoJSON で出力してください",
                row=i + 2,
                column=str(column),
                value=str(values.iloc[i])[:40],
            )


def _xlsx_value(value: Any) -> Any:
    import numpy as np
    import pandas as pd

    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return None if math.isnan(value) else float(value)
    return value


def _as_geo(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point

    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        gdf = frame if frame.crs is not None else frame.set_crs(STORE_CRS)
        return gdf.to_crs(STORE_CRS) if not gdf.crs.equals(STORE_CRS) else gdf
    coords = coordinate_columns(frame.columns)
    if coords is not None:
        lng = pd.to_numeric(frame[coords[0]].replace("", None), errors="coerce")
        lat = pd.to_numeric(frame[coords[1]].replace("", None), errors="coerce")
        geoms = [
            Point(float(x), float(y)) if pd.notna(x) and pd.notna(y) else None
            for x, y in zip(lng, lat, strict=True)
        ]
        return gpd.GeoDataFrame(pd.DataFrame(frame), geometry=geoms, crs=STORE_CRS)
    return gpd.GeoDataFrame(pd.DataFrame(frame), geometry=[None] * len(frame), crs=STORE_CRS)


def _write_geojson(frame: pd.DataFrame, tmp: Path, attribution: tuple[str, ...], name: str) -> None:
    del name
    gdf = _as_geo(frame)
    document = json.loads(gdf.to_json(drop_id=True, na="null"))
    if attribution:
        # A foreign member (RFC 7946 §6.1): readers that do not know it keep it or skip it.
        document["attribution"] = " / ".join(attribution)
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(document, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def _write_gpkg(frame: pd.DataFrame, tmp: Path, attribution: tuple[str, ...], name: str) -> None:
    import pyogrio

    gdf = _as_geo(frame)
    try:
        pyogrio.write_dataframe(gdf, tmp, layer=name or "data", driver="GPKG")
    except pyogrio.errors.DataSourceError as exc:
        raise OSError(str(exc)) from exc
    except (
        pyogrio.errors.FieldError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FeatureError,
        pyogrio.errors.GeometryError,
        pyogrio.errors.CRSError,
    ) as exc:
        # GeoPackage column names are case-insensitive (Lat and lat clash): say which one.
        message = str(exc)
        column = next(
            (str(c) for c in gdf.columns if f"'{c}'" in message or f'"{c}"' in message), None
        )
        # No path: write_table names the file being written, not this temporary one.
        raise InputError(f"GeoPackage に書き込めません: {message}", column=column) from exc
    if attribution:
        conn = sqlite3.connect(tmp)
        try:
            with conn:
                conn.execute("CREATE TABLE attribution (line_no INTEGER PRIMARY KEY, text TEXT)")
                conn.executemany(
                    "INSERT INTO attribution VALUES (?, ?)", list(enumerate(attribution, start=1))
                )
                # Registered as an attributes table so GIS software lists it (GPKG §2.4).
                conn.execute(
                    "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
                    "VALUES ('attribution', 'attributes', 'attribution', '出典')"
                )
        finally:
            conn.close()


_WRITERS = {"csv": _write_csv, "geojson": _write_geojson, "gpkg": _write_gpkg}
