"""Opaque public ids: what the public view calls an activity instead of the member's own id.

Members number their activities (act-0001, act-0002 …); published as they are, those ids show
in their order and their gaps how many rows are withheld and where. The public view therefore
calls each activity by a keyed hash of the member's id (HMAC-SHA256, 16 hex digits): the same
activity keeps the same public id from build to build as long as the key stays, and the id
tells nothing about the others. The planners' view keeps the member's id and carries the
public one beside it (``public_id``), so a planner can find the row a resident links to.

The key is a file of random bytes kept beside the planners' file (``public-id.key``, created
on the first build, readable by its owner only). It is as confidential as the planners' file:
with it and a list of member ids anyone could match public ids back. Deleting it gives every
activity a new public id on the next build, and old links stop working.

Example::

    >>> public_id("act-0117", b"k" * 32)
    '1229335128cc4db8'
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from tsunagari_geo.errors import InputError

#: The key file's name, in the planners' file's folder.
KEY_FILE = "public-id.key"
_KEY_BYTES = 32
#: Hex digits kept of the HMAC: 64 bits, no collision in any realistic number of activities.
_DIGITS = 16


def key_path(planner_path: Path) -> Path:
    """Where the key of a build whose planners' file is ``planner_path`` lives.

    A database holds no secret the public layers are derived from: with the planners' layers
    in a database, the key stays on the building machine, where the planners' file would be
    (``data/build/public-id.key``; keep it with the database's backups).
    """
    from tsunagari_geo.layers.paths import DEFAULT_PLANNER_LAYERS
    from tsunagari_geo.store import is_database

    if is_database(planner_path):
        return DEFAULT_PLANNER_LAYERS.with_name(KEY_FILE)
    return planner_path.with_name(KEY_FILE)


def load_or_create_key(path: Path) -> bytes:
    """The key in ``path``; a new random one written there (mode 0600) when it is missing.

    Raises InputError when the file exists but is too short to be a key.
    """
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(_KEY_BYTES)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
        # Two builds starting at once must agree on one key: the first link wins.
        try:
            os.link(tmp, path)
        except FileExistsError:
            key = path.read_bytes()
        finally:
            tmp.unlink(missing_ok=True)
    if len(key) < 16:
        raise InputError(
            f"公開IDの鍵ファイルが短すぎます（{len(key)} バイト）。消すと新しい鍵を作ります",
            path=path,
        )
    return key


def public_id(member_id: str, key: bytes) -> str:
    """The public id of the activity the member calls ``member_id``."""
    digest = hmac.new(key, member_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:_DIGITS]


def public_ids(member_ids: Iterable[str], key: bytes) -> dict[str, str]:
    """Member id → public id for every id given; raises InputError on a collision."""
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for member in member_ids:
        opaque = public_id(member, key)
        other = seen.get(opaque)
        if other is not None and other != member:
            raise InputError(
                f"公開IDが重なりました（{member} と {other}）。鍵ファイルを作り直してください"
            )
        seen[opaque] = member
        out[member] = opaque
    return out
