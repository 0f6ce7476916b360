"""The manifest of a published set: what the pipeline wrote, so a reader can prove it has it.

``tsunagari-geo build`` writes ``layers.gpkg``, ``planner.gpkg`` and ``layers.manifest.json``
beside them as one set; ``tsunagari-geo tiles build`` writes the ``*.pmtiles`` archives and
``manifest.json`` in the tiles folder. A manifest names every member file (relative to the
manifest), its SHA-256, its size and its row counts, and the set's ``version``: a hash of the
members' hashes, so two identical builds have the same version and any changed byte gives
another. The manifest is renamed into place last, so a reader that looks while a set is being
replaced sees files that do not match and keeps the set it has.

A reader calls :func:`read_manifest` then :func:`verify_file` (or :func:`verify_bytes` for a
file it has already mapped into memory) for every member; each raises
:class:`~tsunagari_geo.errors.StoreError` naming the file and what differs.

Example::

    >>> manifest = read_manifest(layers_manifest_path(Path("data/build/layers.gpkg")))
    >>> verify_file(manifest, "public", Path("data/build/layers.gpkg"))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tsunagari_geo.errors import StoreError

#: Bumped when the manifest's layout changes; readers refuse others.
MANIFEST_SCHEMA_VERSION = "1"
#: The tiles folder's manifest.
TILES_MANIFEST = "manifest.json"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Member:
    """One file of a set: its name relative to the manifest, SHA-256, size and row counts."""

    name: str
    sha256: str
    size: int
    rows: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    """A read manifest: the set's kind (``layers`` or ``tiles``), version and members by role."""

    path: Path
    kind: str
    version: str
    built_at: str
    members: dict[str, Member]
    meta: dict[str, str] = field(default_factory=dict)

    def member_path(self, role: str) -> Path:
        """Where the member of ``role`` is (relative names are beside the manifest)."""
        return self.path.parent / self.members[role].name


@dataclass(frozen=True)
class FileIdentity:
    """What a verified file was when it was hashed (to notice a replacement after)."""

    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        st = path.stat()
        return cls(st.st_ino, st.st_size, st.st_mtime_ns)


def build_time() -> str:
    """When a set is written, in UTC to the second (ISO 8601): now, or ``SOURCE_DATE_EPOCH``
    when set (the reproducible-builds convention), so that two builds of the same inputs,
    in a GeoPackage or a database, serve the same bytes."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return when.isoformat(timespec="seconds")


def layers_manifest_path(public: Path) -> Path:
    """``data/build/layers.gpkg`` → ``data/build/layers.manifest.json``."""
    return public.with_name(f"{public.stem}.manifest.json")


def tiles_manifest_path(tiles_dir: Path) -> Path:
    """The manifest of the archives in ``tiles_dir``."""
    return tiles_dir / TILES_MANIFEST


def sha256_file(path: Path) -> str:
    """The SHA-256 of the file at ``path``, read in 1 MiB pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_text(
    manifest_path: Path,
    kind: str,
    members: Mapping[str, tuple[Path, Path, Mapping[str, int]]],
    meta: Mapping[str, str] | None = None,
) -> str:
    """The manifest for ``members`` (role → (final path, written file, row counts)) as JSON.

    The written file is hashed (a temporary not yet renamed); the final path gives the name
    the manifest records, relative to ``manifest_path``'s folder.
    """
    described: dict[str, dict[str, Any]] = {}
    for role, (final, written, rows) in members.items():
        described[role] = {
            "name": os.path.relpath(final.resolve(), manifest_path.parent.resolve()),
            "sha256": sha256_file(written),
            "size": written.stat().st_size,
            "rows": dict(rows),
        }
    version = set_version({r: str(d["sha256"]) for r, d in described.items()})
    document = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "kind": kind,
        "version": version,
        "built_at": build_time(),
        "files": described,
        "meta": dict(meta or {}),
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def set_version(digests: Mapping[str, str]) -> str:
    """A set's version from its members' digests (role → SHA-256): equal for identical
    members, different when any byte (or, in a database, any row) differs."""
    return hashlib.sha256(
        "\n".join(f"{role} {digest}" for role, digest in sorted(digests.items())).encode()
    ).hexdigest()[:16]


def read_manifest(path: Path, *, kind: str) -> Manifest:
    """Read the manifest at ``path``; raises StoreError when missing, unreadable or not ``kind``."""
    hint = "`tsunagari-geo tiles build`" if kind == "tiles" else "`tsunagari-geo build`"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreError(
            f"マニフェストがありません。{hint} を実行してください", path=path
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(f"マニフェストを読めません: {exc}", path=path) from exc
    try:
        if document["schema_version"] != MANIFEST_SCHEMA_VERSION or document["kind"] != kind:
            raise StoreError(
                f"マニフェストの形式が違います（{document['kind']!r}、"
                f"schema {document['schema_version']!r}）。{hint} をやり直してください",
                path=path,
            )
        members = {
            str(role): Member(
                name=str(d["name"]),
                sha256=str(d["sha256"]),
                size=int(d["size"]),
                rows={str(k): int(v) for k, v in dict(d.get("rows", {})).items()},
            )
            for role, d in dict(document["files"]).items()
        }
        return Manifest(
            path=path,
            kind=kind,
            version=str(document["version"]),
            built_at=str(document["built_at"]),
            members=members,
            meta={str(k): str(v) for k, v in dict(document.get("meta", {})).items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StoreError(f"マニフェストの項目が足りないか壊れています: {exc!r}", path=path) from exc


def _member(manifest: Manifest, role: str, path: Path) -> Member:
    member = manifest.members.get(role)
    if member is None:
        raise StoreError(f"マニフェストに {role} のファイルがありません", path=manifest.path)
    if manifest.member_path(role).resolve() != path.resolve():
        raise StoreError(
            f"マニフェストの {role} は {manifest.member_path(role)} で、{path} ではありません",
            path=manifest.path,
        )
    return member


def verify_file(manifest: Manifest, role: str, path: Path) -> FileIdentity:
    """Check that ``path`` is the ``role`` member of ``manifest``, byte for byte.

    Returns the file's identity at hashing time, for :func:`check_unchanged` after it was
    read. Raises StoreError naming the file when it is missing, or its size or SHA-256 differs.
    """
    member = _member(manifest, role, path)
    try:
        before = FileIdentity.of(path)
        if before.size != member.size:
            raise StoreError(
                f"ファイルの大きさ {before.size} バイトがマニフェストの {member.size} バイトと"
                "違います（書き換えられたか壊れています）",
                path=path,
            )
        digest = sha256_file(path)
        after = FileIdentity.of(path)
    except FileNotFoundError:
        raise StoreError(
            "マニフェストにあるファイルがありません（削除されたか書き込み途中です）", path=path
        ) from None
    except OSError as exc:
        raise StoreError(f"ファイルを読めません: {exc}", path=path) from exc
    if digest != member.sha256 or after != before:
        raise StoreError(
            "ファイルの SHA-256 がマニフェストと違います（壊れているか、別の作成のものです）",
            path=path,
            value=digest[:16],
        )
    return before


def verify_bytes(
    manifest: Manifest, role: str, path: Path, data: bytes | memoryview | mmap.mmap
) -> None:
    """Check that ``data`` (the file at ``path``, already read or mapped) is ``role``'s bytes."""
    member = _member(manifest, role, path)
    if len(data) != member.size or hashlib.sha256(data).hexdigest() != member.sha256:
        raise StoreError(
            "ファイルの SHA-256 がマニフェストと違います（壊れているか、別の作成のものです）",
            path=path,
        )


def check_unchanged(path: Path, identity: FileIdentity) -> None:
    """Raise StoreError when ``path`` was replaced since :func:`verify_file` hashed it."""
    try:
        now = FileIdentity.of(path)
    except FileNotFoundError:
        now = None
    if now != identity:
        raise StoreError(
            "読み込み中にファイルが置き換えられました。もう一度試してください", path=path
        )
