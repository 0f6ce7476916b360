"""A real PostgreSQL + PostGIS server for tests, CI and bench scripts (helpers only; no tests here).

:class:`PostgisServer` runs Debian's ``initdb`` and ``pg_ctl`` (``/usr/lib/postgresql/15/bin``,
package ``postgresql-15-postgis-3``) on a cluster in a temporary folder, listening on a free
loopback port with its socket in that folder, as an unprivileged user: PostgreSQL refuses to
run as root, so under root the cluster belongs to the user ``tsunagari`` (created with
``useradd`` when missing). A template database with the PostGIS extension is created once;
:meth:`PostgisServer.create_database` copies it, so every test gets an empty database in
milliseconds. :func:`postgis_or_skip` says why the server cannot run here: a test skips with
that reason on a developer's machine, and fails in CI (``CI=true``), where PostGIS must be
there (``.ci/run`` installs it).

Example::

    with PostgisServer.started(tmp) as server:
        url = server.create_database("contract")   # postgresql://tsunagari@127.0.0.1:PORT/contract
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tsunagari_geo.store import Store

PG_BIN = Path(os.environ.get("TSUNAGARI_PG_BIN", "/usr/lib/postgresql/15/bin"))
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")
#: The unprivileged owner of the cluster when the tests run as root.
CLUSTER_USER = "tsunagari"
TEMPLATE = "tsunagari_template"


def unavailable_reason() -> str | None:
    """Why a PostGIS server cannot start here, or None when it can."""
    for binary in ("initdb", "pg_ctl", "postgres"):
        if not (PG_BIN / binary).exists():
            return f"PostgreSQL 15 not installed ({PG_BIN / binary} missing; apt-get install postgresql-15-postgis-3)"
    if not POSTGIS_CONTROL.exists():
        return f"PostGIS not installed ({POSTGIS_CONTROL} missing; apt-get install postgresql-15-postgis-3)"
    return None


def postgis_or_skip() -> None:
    """Skip the calling test when PostGIS is absent; in CI (``CI=true``) fail instead."""
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI must run the PostGIS tests: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cluster_user() -> str | None:
    """The user the cluster runs as: None (this user) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(CLUSTER_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                CLUSTER_USER,
            ],
            check=True,
        )
    return CLUSTER_USER


class PostgisServer:
    """One running cluster: ``port``, the superuser name, and URLs of its databases."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.socket_dir = root / "socket"
        self.port = _free_port()
        self.run_as = _cluster_user()
        self.superuser = self.run_as or pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *args: str) -> None:
        subprocess.run(
            list(args),
            check=True,
            user=self.run_as,
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if self.run_as is not None:
            entry = pwd.getpwnam(self.run_as)
            for path in (self.root, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.superuser,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.socket_dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        self._sql("postgres", f"CREATE DATABASE {TEMPLATE}")
        self._sql(TEMPLATE, "CREATE EXTENSION postgis")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str) -> str:
        """The URL of ``database`` (no password: the cluster trusts loopback)."""
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def _sql(self, database: str, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def create_database(self, name: str) -> str:
        """A new empty database ``name`` with PostGIS installed; returns its URL."""
        for attempt in range(50):
            try:
                self._sql("postgres", f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE}')
                break
            except Exception as exc:  # the template is busy for a moment after another copy
                if "being accessed" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.1)
        return self.url(name)

    @classmethod
    @contextmanager
    def started(cls, root: Path | None = None) -> Iterator[PostgisServer]:
        """A started server under ``root`` (default a new temporary folder), stopped after."""
        own = root is None
        folder = Path(tempfile.mkdtemp(prefix="tsunagari-pg-")) if root is None else root
        server = cls(folder)
        try:
            server.start()
            yield server
        finally:
            try:
                server.stop()
            finally:
                if own:
                    shutil.rmtree(folder, ignore_errors=True)


def copy_reference(store: Store, location: str) -> None:
    """Write ``store``'s reference data to ``location`` as an import would have (seconds,
    instead of the import's reading of every source file)."""
    from tsunagari_geo.store import ReferenceData, backend_for

    meta = {k: v for k, v in store.meta.items() if k != "schema_version"}
    data = ReferenceData(
        region=store.region,
        units=store.units,
        municipalities=store.municipalities,
        towns=store.towns,
        sources=store.sources,
        japan_municipalities=store.japan_municipalities,
        metadata=meta,
        small_areas=store.small_areas,
    )
    backend_for(location).write_reference(location, data)
