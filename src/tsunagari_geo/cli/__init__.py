"""The ``tsunagari-geo`` command: one Typer app, one module per group of commands.

Messages meant for the secretariat are Japanese; a :class:`TsunagariError` is printed as one
clear line (file, row, column, value) with exit status 2, never as a traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from tsunagari_geo.cli.console import err_console
from tsunagari_geo.errors import TsunagariError

app = typer.Typer(
    name="tsunagari-geo",
    help="つながり: 孤独・孤立対策官民連携プラットフォームの地理空間エンジン（地域は取り込んだ参照データのもの）",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    # A callback keeps `app` a group of commands even when one module's commands are loaded.
    return None


#: The module (under tsunagari_geo.cli) defining each top-level command or group. Importing a
#: module adds its commands to `app`; a run imports only the one it needs, so
#: `tsunagari-geo geocode` does not pay for the analysis, server and site imports.
#: tests/test_cli_startup.py checks this table against what each module registers.
COMMAND_MODULES: dict[str, str] = {
    "join": "analysis",
    "coverage": "analysis",
    "samples": "analysis",
    "data": "data",
    "geocode": "geocode",
    "lookup": "geocode",
    "build": "serve",
    "tiles": "serve",
    "serve": "serve",
    "site": "site",
}


#: ``--dask [SCHEDULER]`` of the partitioned commands (geocode, join): alone, a LocalCluster.
DaskOption = Annotated[
    str | None,
    typer.Option(
        "--dask",
        help="Dask で分割して実行: 値なしでこの機械のクラスタ、tcp://host:port で既存のスケジューラ",
        show_default=False,
    ),
]
WorkersOption = Annotated[
    int, typer.Option("--workers", help="--dask で起動するローカルのワーカー数", min=1)
]
#: Options whose value may be left out, and what they then mean.
_OPTIONAL_VALUES = {"--dask": "local"}


def _fill_optional_values(argv: list[str]) -> list[str]:
    """``--dask`` alone (last, or before another option, or before a word that is no
    scheduler address, such as the input file) becomes ``--dask=local``: Typer options take
    a value or none, never either."""
    from tsunagari_geo.cluster import is_scheduler_address

    out: list[str] = []
    for i, arg in enumerate(argv):
        following = argv[i + 1] if i + 1 < len(argv) else None
        if arg in _OPTIONAL_VALUES and (following is None or not is_scheduler_address(following)):
            out.append(f"{arg}={_OPTIONAL_VALUES[arg]}")
        else:
            out.append(arg)
    return out


def _register(argv: Sequence[str] | None = None) -> None:
    """Import the command modules: the one ``argv``'s command needs, or all of them (no
    argv, --help, an unknown command: the help then lists everything)."""
    command = next((a for a in argv or () if not a.startswith("-")), None)
    module = COMMAND_MODULES.get(command or "")
    names = [module] if module is not None else sorted(set(COMMAND_MODULES.values()))
    for name in names:
        importlib.import_module(f"tsunagari_geo.cli.{name}")


def main() -> None:
    """Entry point of the console script."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    argv = _fill_optional_values(sys.argv[1:])
    _register(argv)
    try:
        app(args=argv)
    except TsunagariError as exc:
        err_console.print(f"[bold red]エラー:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
