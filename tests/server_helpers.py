"""Starting real servers on loopback for tests and bench scripts (helpers only; no tests here).

One place for what the server tests, the browser tests and the bench scripts all do: pick a
free port on 127.0.0.1, start ``tsunagari-geo serve`` (or any command), wait until a URL
answers 200, and stop the process afterwards. The bench scripts import this module with
``tests/`` on ``sys.path``.

Example::

    with serving(serve_command(port), f"http://127.0.0.1:{port}/healthz", serve_env(s)) as p:
        httpx.get(f"http://127.0.0.1:{port}/collections")
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from tsunagari_api.settings import ApiSettings

BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"


class ServerDidNotStart(RuntimeError):
    """The process exited, or its URL did not answer 200 in time; carries its last output."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def serve_command(port: int, *, workers: int = 1, log_level: str = "warning") -> list[str]:
    """``tsunagari-geo serve`` on 127.0.0.1:``port`` from this interpreter's venv."""
    return [
        str(BIN / "tsunagari-geo"),
        "serve",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        log_level,
    ]


def serve_env(settings: ApiSettings, **extra: str) -> dict[str, str]:
    """This process's environment with ``settings``' files (and ``extra`` TSUNAGARI_ values).

    ``extra`` keys are the names after the prefix, e.g. ``BASEMAP="blank"``. The token is
    passed only when the settings hold one, so a test can run a server without any.
    """
    env = {
        **os.environ,
        "TSUNAGARI_STORE": str(settings.store),
        "TSUNAGARI_LAYERS": str(settings.layers),
        "TSUNAGARI_PLANNER_LAYERS": str(settings.planner_layers),
        "TSUNAGARI_TILES_DIR": str(settings.tiles_dir),
    }
    env.pop("TSUNAGARI_TOKEN", None)
    if settings.token is not None:
        env["TSUNAGARI_TOKEN"] = settings.token.get_secret_value()
    env.update({f"TSUNAGARI_{k.upper()}": v for k, v in extra.items()})
    return env


@contextmanager
def serving(
    command: list[str],
    url: str,
    env: Mapping[str, str] | None = None,
    *,
    timeout: float = 90,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command`` (in ``cwd``), wait until ``url`` answers 200, yield the process; stop it.

    Output goes to a temporary file rather than a pipe, so a chatty server under load never
    blocks on a full pipe; it is quoted in :class:`ServerDidNotStart` when the start fails.
    """
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, env=dict(env) if env is not None else None, stdout=log, stderr=log, cwd=cwd
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    output = log.read().decode(errors="replace")
                    raise ServerDidNotStart(f"{command[0]} did not start: {output[-2000:]}")
                time.sleep(0.3)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def running(command: list[str], url: str, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Like :func:`serving`, yielding ``url`` instead of the process."""
    with serving(command, url, env):
        yield url
