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
from tsunagari_geo.region import load_region
from tsunagari_geo.settings import DEFAULT_SOURCE, get_settings
from tsunagari_geo.store import open_store

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
    Path | None,
    typer.Option(
        "--store",
        help="ストア: GeoPackage のパスか postgresql:// の URL（既定: $TSUNAGARI_STORE）",
    ),
]
RegionOption = Annotated[
    str | None,
    typer.Option(
        "--region",
        help="地域: 同梱の ID（saitama）か region.toml のあるフォルダ（既定: $TSUNAGARI_REGION）",
    ),
]


JapanOption = Annotated[
    Path | None,
    typer.Option(
        "--japan",
        help="全国の町字データのフォルダ（例: ../shared/data/japan）。指定すると県外の住所も"
        "町字まで読みます（既定: $TSUNAGARI_JAPAN、なければ取り込まない）",
    ),
]


@data_app.command("import")
def import_cmd(
    source: SourceOption = None,
    store: StoreOption = None,
    region: RegionOption = None,
    japan: JapanOption = None,
) -> None:
    """公開データを検証し、埋め込みストア（GeoPackage）を作ります。"""
    settings = get_settings()
    chosen = load_region(region or settings.region)
    src = source or settings.source_dir()
    if src is None:
        raise SourceError(
            "公開データのフォルダが見つかりません。--source で指定するか、"
            "`tsunagari-geo data fetch` でダウンロードしてください",
            path=settings.source or DEFAULT_SOURCE,
        )
    target = store or settings.store
    report = import_reference(src, target, region=chosen, japan=japan or settings.japan)
    for warning in report.warnings:
        console.print(f"[yellow]注意:[/] {warning}", highlight=False)
    console.print(
        f"取り込み完了（{chosen.pref_name}）: {report.units} 区域, {report.municipalities} 市町村, "
        f"{report.towns:,} 町字, 面積 {report.area_km2:,.2f} km², 人口 {report.population:,}, "
        f"他県の市区町村名 {report.japan_municipalities:,}, 他県の町字 {report.japan_towns:,} "
        f"→ {target}",
        highlight=False,
    )
    if report.census_source == "workbook":
        console.print(
            f"国勢調査（{report.census_year}年、主な結果）: {report.units} 区域の合計 "
            f"{report.population:,} 人が都道府県の行と一致",
            highlight=False,
        )
    if report.small_areas:
        named = report.small_areas_matched + report.small_areas_unmatched
        console.print(
            f"小地域 {report.small_areas:,} 件（人口 {report.small_area_population:,}）: "
            f"町字辞書と名前で一致 {report.small_areas_matched:,} / {named:,} "
            f"（{report.small_areas_matched / max(named, 1):.1%}）、不一致 "
            f"{report.small_areas_unmatched:,}、代表点が別の区域 {report.small_areas_outside_unit}",
            highlight=False,
        )


@data_app.command("info")
def info_cmd(
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON で出力")] = False,
) -> None:
    """ストアの件数と出典を表示します。"""
    opened = open_store(store or get_settings().store)
    info = opened.info()
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    region = opened.region
    cities = "・".join(region.registry.by_code[c].name for c in region.designated_city_codes)
    table = Table(title=f"参照データ {info['store']}（{region.pref_name}）", show_header=False)
    for label, key in (
        (f"区域 ({region.unit_count}: 市町村+{cities or '政令指定都市'}の区)", "units"),
        (f"市町村 ({region.municipality_count})", "municipalities"),
        ("町字 (大字・町丁目)", "towns"),
        ("他県の市区町村名", "japan_municipalities"),
        ("他県の町字 (全国の住所を町字まで)", "japan_towns"),
        ("面積 km²", "area_km2"),
        ("人口 (令和2年国勢調査)", "population"),
        ("行政区域データの版", "n03_edition"),
        ("取り込み日時", "imported_at"),
        ("人口の出典 (workbook: 国勢調査 主な結果 / csv)", "census_source"),
        ("小地域 (町丁・字等)", "small_areas"),
        ("小地域: 町字辞書と一致", "small_areas_matched"),
        ("小地域: 町字辞書と不一致", "small_areas_unmatched"),
        ("小地域: 代表点が別の区域", "small_areas_outside_unit"),
    ):
        value = info[key]
        table.add_row(label, f"{value:,}" if isinstance(value, int | float) else str(value))
    unmatched = info["small_areas_unmatched_by_unit"]
    if unmatched:
        worst = sorted(unmatched.items(), key=lambda kv: -kv[1])[:5]
        names = region.registry.by_code
        table.add_row(
            "不一致の多い区域",
            "、".join(f"{names[c].name} {n}" for c, n in worst if c in names),
        )
    table.add_row("出典ファイル", f"{len(info['sources'])} files (sha256 recorded)")
    console.print(table)
    console.print("出典: " + " / ".join(info["attribution"]), highlight=False)


@data_app.command("fetch")
def fetch_cmd(
    dest: Annotated[
        Path | None, typer.Option("--dest", help="保存先（既定: data/sources）")
    ] = None,
    base_n03: Annotated[
        str | None,
        typer.Option("--n03-url", help="行政区域データ (N03) zip の URL（既定: 地域の都道府県）"),
    ] = None,
    base_towns: Annotated[
        str, typer.Option("--towns-url", help="Geolonia 住所データ API の基底 URL (…/api)")
    ] = fetch_mod.GEOLONIA_API,
    region: RegionOption = None,
) -> None:
    """公開データ（行政区域 N03、Geolonia 町字）をダウンロードします（再開可能）。

    人口（国勢調査）は e-Stat のアプリケーション ID が必要なため自動取得しません。
    地域の region.toml が示す場所（埼玉県は population/major_results_2020.xlsx と
    small_areas/r2ka11.dbf）に手で置いてください（SOURCES.md のとおり）。
    """
    settings = get_settings()
    chosen = load_region(region or settings.region)
    target = dest or settings.fetch_dir
    result = fetch_mod.fetch_sources(target, region=chosen, n03_url=base_n03, towns_api=base_towns)
    console.print(
        f"ダウンロード完了: {result.downloaded} 件取得, {result.skipped} 件は取得済み → {target}",
        highlight=False,
    )
    console.print(fetch_mod.population_hint(chosen), highlight=False)
