"""The ``tsunagari-geo`` command: one Typer app, one module per group of commands.

Messages meant for the secretariat are Japanese; a :class:`TsunagariError` is printed as one
clear line (file, row, column, value) with exit status 2, never as a traceback.
"""

from __future__ import annotations

import logging
import sys

import typer

from tsunagari_geo.cli.console import err_console
from tsunagari_geo.errors import TsunagariError

app = typer.Typer(
    name="tsunagari-geo",
    help="つながり: 埼玉県 孤独・孤立対策官民連携プラットフォームの地理空間エンジン",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Each command group lives in its own module; importing it adds its commands to `app`.
    from tsunagari_geo.cli import (
        analysis,  # noqa: F401
        data,  # noqa: F401
        geocode,  # noqa: F401
        serve,  # noqa: F401
        site,  # noqa: F401
    )


def main() -> None:
    """Entry point of the console script."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _register()
    try:
        app()
    except TsunagariError as exc:
        err_console.print(f"[bold red]エラー:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
