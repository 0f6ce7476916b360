"""``tsunagari-geo data import | fetch | info``: the reference store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tsunagari_geo.cli import app
from tsunagari_geo.cli.console import console
from tsunagari_geo.errors import SourceError
from tsunagari_geo.reference import fetch as fetch_mod
from tsunagari_geo.reference.importer import import_reference
from tsunagari_geo.reference.store import ReferenceStore
from tsunagari_geo.settings import get_settings

data_app = typer.Typer(
    help="参照データ（行政区域・町字・人口）の取り込みと確認", no_args_is_help=True
)
app.add_typer(data_app, name="data")

SourceOption = Annotated[
    Path | None,
    typer.Option(
        "--source",
        help="公開データのフォルダ（既定: $TSUNAGARI_SOURCE または ../shared/data/saitama）",
    ),
]
StoreOption = Annotated[
    Path | None, typer.Option("--store", help="GeoPackage の出力先（既定: $TSUNAGARI_STORE）")
]


@data_app.command("import")
def import_cmd(source: SourceOption = None, store: StoreOption = None) -> None:
    """公開データを検証し、埋め込みストア（GeoPackage）を作ります。"""
    settings = get_settings()
    src = source or settings.source_dir()
    if src is None:
        raise SourceError(
            "公開データのフォルダが見つかりません。--source で指定するか、"
            "`tsunagari-geo data fetch` でダウンロードしてください",
            path=settings.source or "../shared/data/saitama",
        )
    target = store or settings.store
    report = import_reference(src, target)
    for warning in report.warnings:
        console.print(f"[yellow]注意:[/] {warning}", highlight=False)
    console.print(
        f"取り込み完了: {report.units} 区域, {report.municipalities} 市町村, "
        f"{report.towns:,} 町字, 面積 {report.area_km2:,.2f} km², 人口 {report.population:,} "
        f"→ {target}",
        highlight=False,
    )


@data_app.command("info")
def info_cmd(
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON で出力")] = False,
) -> None:
    """ストアの件数と出典を表示します。"""
    info = ReferenceStore.open(store or get_settings().store).info()
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"参照データ {info['store']}", show_header=False)
    for label, key in (
        ("区域 (72: 市町村+さいたま市の区)", "units"),
        ("市町村 (63)", "municipalities"),
        ("町字 (大字・町丁目)", "towns"),
        ("面積 km²", "area_km2"),
        ("人口 (令和2年国勢調査)", "population"),
        ("行政区域データの版", "n03_edition"),
        ("取り込み日時", "imported_at"),
    ):
        value = info[key]
        table.add_row(label, f"{value:,}" if isinstance(value, int | float) else str(value))
    table.add_row("出典ファイル", f"{len(info['sources'])} files (sha256 recorded)")
    console.print(table)
    console.print("出典: " + " / ".join(info["attribution"]), highlight=False)


@data_app.command("fetch")
def fetch_cmd(
    dest: Annotated[
        Path | None, typer.Option("--dest", help="保存先（既定: data/sources）")
    ] = None,
    base_n03: Annotated[
        str, typer.Option("--n03-url", help="行政区域データ (N03) zip の URL")
    ] = fetch_mod.N03_URL,
    base_towns: Annotated[
        str, typer.Option("--towns-url", help="Geolonia 住所データ API の基底 URL (…/api)")
    ] = fetch_mod.GEOLONIA_API,
) -> None:
    """公開データ（行政区域 N03、Geolonia 町字）をダウンロードします（再開可能）。

    人口（国勢調査）は e-Stat のアプリケーション ID が必要なため自動取得しません。
    population/census_2020_saitama.csv を手で置いてください（列は SOURCES.md のとおり）。
    """
    target = dest or get_settings().fetch_dir
    result = fetch_mod.fetch_sources(target, n03_url=base_n03, towns_api=base_towns)
    console.print(
        f"ダウンロード完了: {result.downloaded} 件取得, {result.skipped} 件は取得済み → {target}",
        highlight=False,
    )
    console.print(fetch_mod.POPULATION_HINT, highlight=False)
