"""``tsunagari-geo geocode`` (a whole table) and ``tsunagari-geo lookup`` (one address, JSON).

Start-up counts on a whole job: geopy is imported only when a remote fallback is switched on,
and the output's extension is checked before the dictionary is loaded.
"""

from __future__ import annotations

import contextlib
import gc
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tsunagari_geo.cli import DaskOption, WorkersOption, app, err_console
from tsunagari_geo.cli.console import console
from tsunagari_geo.geocode.batch import BatchSummary, geocode_table, summary_table
from tsunagari_geo.geocode.core import Geocoder
from tsunagari_geo.region import Region
from tsunagari_geo.settings import GeocodeSettings, get_settings
from tsunagari_geo.store import open_store
from tsunagari_geo.tables import OUTPUT_FORMATS, output_format


@app.command("geocode")
def geocode_command(
    input_path: Annotated[Path, typer.Argument(help="入力ファイル (CSV, XLSX, GeoJSON)")],
    out: Annotated[Path, typer.Option("--out", help=f"出力ファイル ({' '.join(OUTPUT_FORMATS)})")],
    address_column: Annotated[
        list[str] | None,
        typer.Option(
            "--address-column",
            help="住所の列。複数指定すると結合 (例: --address-column city --address-column address)",
        ),
    ] = None,
    id_column: Annotated[str | None, typer.Option("--id-column", help="ID の列")] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="CSV の文字コード (省略時は自動判定)")
    ] = None,
    overrides: Annotated[
        Path | None,
        typer.Option("--overrides", help="手作業の上書き CSV (id/address → town/lat,lng)"),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="中断した処理の続きから再開")] = False,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="中間保存の行数")] = 1000,
    dask: DaskOption = None,
    workers: WorkersOption = 2,
) -> None:
    """住所の表をジオコーディングし、全行に位置と一致レベルを付けて書き出します。

    --dask を付けると Dask のクラスタで分割して処理します（値なしでこの機械に --workers 個の
    ワーカー、tcp://host:port でそのスケジューラのクラスタ）。出力は 1 プロセスの時と同じです。
    """
    output_format(out)  # an unknown extension fails now, not after the whole job
    settings = get_settings()
    store = open_store(settings.store)
    # On a cluster the workers load the dictionary; the client never does.
    geocoder = Geocoder.from_store(store) if dask is None else None
    if geocoder is not None:
        # The modules and the dictionary live until the job ends: out of the collector's
        # generations, each collection during the job no longer walks them again.
        gc.freeze()
    fallback = None
    if GeocodeSettings().fallback:
        from tsunagari_geo.geocode.geopy_adapter import RemoteFallback

        fallback = RemoteFallback.from_settings(region=store.region)
    with contextlib.ExitStack() as stack:
        client = None
        if dask is not None:
            from tsunagari_geo.cluster import dask_client, describe

            client = stack.enter_context(dask_client(dask, workers=workers))
            err_console.print(describe(client), highlight=False)
        summary = geocode_table(
            input_path,
            out,
            geocoder=geocoder,
            store=store,
            address_columns=address_column or None,
            id_column=id_column,
            encoding=encoding,
            overrides=overrides,
            resume=resume,
            chunk_size=chunk_size,
            progress=True,
            fallback=fallback,
            client=client,
        )
    _print_summary(summary, store.region)
    rate = summary.rows / summary.geocode_seconds if summary.geocode_seconds else 0.0
    err_console.print(
        f"住所の列: {', '.join(summary.address_columns)} / 辞書の読み込み {summary.load_seconds:.2f} 秒"
        f" / {rate:,.0f} 件/秒"
        + (f" / 再開: {summary.resumed_chunks} チャンクを再利用" if summary.resumed_chunks else "")
    )
    err_console.print(f"要確認 {summary.failures_count} 行: {summary.failures}")
    for action, n in summary.by_action.items():
        err_console.print(f"  {action}: {n} 行")


def _print_summary(summary: BatchSummary, region: Region) -> None:
    """The counts in words: each level and status says what it means (the XLSX 集計 sheet)."""
    table = Table(title=f"{summary.rows} 行 → {summary.output}")
    for name in ("区分", "コード", "意味"):
        table.add_column(name)
    table.add_column("行数", justify="right")
    rows = summary_table(summary.by_status, summary.by_level, summary.coord_check, region)
    for kind, code, words, n in rows:
        table.add_row(kind, code, words, f"{n:,}")
    err_console.print(table)


@app.command("lookup")
def lookup_command(
    address: Annotated[str, typer.Argument(help="住所 (1件)")],
    context: Annotated[
        str | None, typer.Option("--context", help="住所に市区町村がない時に補う市区町村")
    ] = None,
) -> None:
    """住所1件をジオコーディングし、結果を JSON で表示します。"""
    geocoder = Geocoder.from_store(open_store(get_settings().store))
    result = geocoder.geocode(address, context)
    console.print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2), markup=False)
