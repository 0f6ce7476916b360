"""``tsunagari-geo site build | vendor``: the static site and the vendored map libraries."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tsunagari_geo.cli import app
from tsunagari_geo.cli.console import console
from tsunagari_geo.layers.paths import DEFAULT_LAYERS, DEFAULT_PLANNER_LAYERS, DEFAULT_TILES_DIR
from tsunagari_geo.settings import get_settings

site_app = typer.Typer(
    help="静的サイト（地図・ダッシュボード）と地図ライブラリの配置", no_args_is_help=True
)
app.add_typer(site_app, name="site")


@site_app.command("build")
def build(
    out: Annotated[Path, typer.Option("--out", help="出力フォルダ")] = Path("site"),
    layers: Annotated[
        Path,
        typer.Option("--layers", help="公開レイヤーの GeoPackage（tsunagari-geo build の出力）"),
    ] = DEFAULT_LAYERS,
    store: Annotated[
        Path | None,
        typer.Option("--store", help="参照データの GeoPackage（既定: $TSUNAGARI_STORE）"),
    ] = None,
    tiles_dir: Annotated[
        Path, typer.Option("--tiles-dir", help="PMTiles のフォルダ（あれば同梱）")
    ] = DEFAULT_TILES_DIR,
    basemap: Annotated[
        str | None,
        typer.Option("--basemap", help="背景地図: gsi（地理院タイル）か blank（外部に通信しない）"),
    ] = None,
    with_suggestions: Annotated[
        bool,
        typer.Option(
            "--with-suggestions",
            help="計画担当者用のマッチング提案・横展開候補も市町村ページに載せる",
        ),
    ] = False,
    planner_layers: Annotated[
        Path,
        typer.Option("--planner-layers", help="計画担当者用レイヤー（提案を載せるときだけ読む）"),
    ] = DEFAULT_PLANNER_LAYERS,
) -> None:
    """地図とダッシュボードを、APIなしで動く静的サイトとして書き出します。"""
    from tsunagari_geo.maps.data import SiteData
    from tsunagari_geo.maps.settings import MapSettings, get_map_settings
    from tsunagari_geo.maps.site import build_site

    settings = get_map_settings()
    if basemap is not None:
        settings = MapSettings.model_validate({**settings.model_dump(), "basemap": basemap})
    from tsunagari_geo.store import published_locations

    store_location = store or get_settings().store
    public, planner = published_locations(store_location, layers, planner_layers)
    data = SiteData.open(public, store_location, planner if with_suggestions else None)
    report = build_site(out, data, settings, tiles_dir)
    console.print(
        f"静的サイトを書き出しました: {out}（{len(report.files)} ファイル、"
        f"{report.bytes() / 1e6:.1f} MB）"
    )
    console.print(f"確認: python -m http.server -d {out} 8000 → http://127.0.0.1:8000/map.html")


@site_app.command("vendor")
def vendor() -> None:
    """地図ライブラリ（Leaflet ほか、版を固定）を npm から取得し、アプリが配信する場所に置きます。"""
    from tsunagari_geo.maps.vendor import PACKAGES, vendor_assets

    target = vendor_assets()
    names = ", ".join(p.name for p in PACKAGES)
    console.print(f"配置しました: {names} → {target}")
