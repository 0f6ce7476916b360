"""``tsunagari-geo build``, ``tsunagari-geo tiles build`` and ``tsunagari-geo serve``.

``build`` runs the pipeline on the input tables (by default the sample dataset) and writes the
published layers; ``tiles build`` turns them into PMTiles; ``serve`` starts the GeoJSON
service (``api/tsunagari_api``) under uvicorn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tsunagari_geo.cli import app
from tsunagari_geo.cli.console import err_console as console
from tsunagari_geo.layers.paths import DEFAULT_LAYERS, DEFAULT_PLANNER_LAYERS, DEFAULT_TILES_DIR
from tsunagari_geo.resources import SAMPLES_DIR
from tsunagari_geo.settings import get_settings

tiles_app = typer.Typer(help="ベクタータイル（PMTiles）", no_args_is_help=True)
app.add_typer(tiles_app, name="tiles")


@app.command("build")
def build(
    samples: Annotated[
        Path,
        typer.Option(
            help="入力表のフォルダ（organizations/activities/consultations.csv）",
            show_default="同梱の架空サンプル",
        ),
    ] = SAMPLES_DIR,
    organizations: Annotated[Path | None, typer.Option(help="団体の表")] = None,
    activities: Annotated[Path | None, typer.Option(help="活動の表")] = None,
    consultations: Annotated[Path | None, typer.Option(help="相談窓口の表")] = None,
    good_practices: Annotated[Path | None, typer.Option(help="好事例の表")] = None,
    out: Annotated[Path, typer.Option(help="公開レイヤーの GeoPackage")] = DEFAULT_LAYERS,
    planner_out: Annotated[
        Path, typer.Option(help="計画担当者用レイヤーの GeoPackage")
    ] = DEFAULT_PLANNER_LAYERS,
    scheme: Annotated[str, typer.Option(help="階級区分の方法（mapclassify）")] = "quantiles",
    config: Annotated[
        Path | None,
        typer.Option(
            help="重み・閾値・計画の設定（既定: 同梱の coverage.toml）。レイヤーに記録します"
        ),
    ] = None,
) -> None:
    """入力表をジオコーディング・結合・充足状況の計算にかけ、公開レイヤーを書き出します。"""
    from tsunagari_geo.analysis.config import load_coverage_config
    from tsunagari_geo.layers.build import BuildInputs, build_layers
    from tsunagari_geo.store import is_database, open_store, published_locations
    from tsunagari_geo.store.manifest import layers_manifest_path

    defaults = BuildInputs.samples(samples)
    inputs = BuildInputs(
        organizations=organizations or defaults.organizations,
        activities=activities or defaults.activities,
        consultations=consultations or defaults.consultations,
        good_practices=good_practices or defaults.good_practices,
    )
    store_location = get_settings().store
    store = open_store(store_location)
    public_location, planner_location = published_locations(store_location, out, planner_out)
    with console.status("レイヤーを作成しています…"):
        report = build_layers(
            store,
            inputs=inputs,
            out=Path(public_location),
            planner_out=Path(planner_location),
            scheme=scheme,
            config=load_coverage_config(config),
        )
    for validation in report.validation:
        console.print(validation.summary(), highlight=False)
    if report.privacy is not None:
        s = report.privacy.summary()
        console.print(
            f"公開から除外: 非公開 {s['unpublished']} 件、非表示 {s['hidden']} 件／"
            f"地図に載らない（場所なし）{s['unlocated']} 件、"
            f"許された精度より粗い点で表示 {s['coarsened']} 件",
            highlight=False,
        )
        if report.privacy.text_names_place:
            console.print(
                "[yellow]注意:[/] 町字・市町村単位で公開する活動のうち、名称や説明などに伏せた"
                f"場所（町丁目・番地・建物）が書かれているため公開しなかったもの "
                f"{s['text_names_place']} 件（表記を直すか、確認のうえ「場所表記確認済み」"
                "列を「はい」にすると公開します）:\n  " + "\n  ".join(report.privacy.text_lines()),
                highlight=False,
            )
    public = {k: v for k, v in report.counts.items() if k != "activities_planner"}
    counts = "、".join(f"{k} {v}" for k, v in public.items())
    shown_public, shown_planner = (
        (store.location, store.location)
        if is_database(public_location)
        else (report.public_path, report.planner_path)
    )
    console.print(f"公開用: {shown_public}（{counts}）", highlight=False)
    console.print(
        f"計画担当者用（要トークン）: {shown_planner}"
        f"（activities {report.counts.get('activities_planner', 0)}）",
        highlight=False,
    )
    if is_database(public_location):
        console.print(f"データベースで公開しました（版 {report.version}）", highlight=False)
    else:
        console.print(
            f"検証用マニフェスト: {layers_manifest_path(report.public_path)}"
            f"（版 {report.version}）",
            highlight=False,
        )


@tiles_app.command("build")
def tiles_build(
    layers: Annotated[Path, typer.Option(help="公開レイヤーの GeoPackage")] = DEFAULT_LAYERS,
    out_dir: Annotated[Path, typer.Option(help="PMTiles の書き出し先")] = DEFAULT_TILES_DIR,
    min_zoom: Annotated[int, typer.Option(min=0, max=22)] = 5,
    max_zoom: Annotated[int, typer.Option(min=0, max=22)] = 14,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store", help="参照データの GeoPackage か PostgreSQL の URL（既定: $TSUNAGARI_STORE）"
        ),
    ] = None,
) -> None:
    """公開レイヤーから activities.pmtiles と municipalities.pmtiles を作ります。"""
    from tsunagari_geo.layers.tiles import TileSpec, build_tiles
    from tsunagari_geo.store import open_store, published_locations

    if min_zoom > max_zoom:
        raise typer.BadParameter("--min-zoom は --max-zoom 以下にしてください")
    store_location = store or get_settings().store
    region = open_store(store_location).region
    public, _ = published_locations(store_location, layers, None)
    with console.status("タイルを作成しています…"):
        written = build_tiles(
            Path(public), out_dir, region=region, spec=TileSpec(min_zoom, max_zoom)
        )
    for name, path in written.items():
        console.print(f"{name}: {path}（{path.stat().st_size:,} バイト）", highlight=False)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="待ち受けるアドレス")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="ポート番号")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="ワーカープロセス数")] = 1,
    log_level: Annotated[str, typer.Option(help="ログの詳しさ")] = "info",
) -> None:
    """GeoJSON サービス（OGC API – Features、ベクタータイル、住所検索）を起動します。"""
    import os

    import uvicorn

    from tsunagari_api.catalog import open_published
    from tsunagari_api.settings import get_api_settings
    from tsunagari_api.supervision import SUPERVISOR_ENV
    from tsunagari_geo.store import open_store

    settings = get_api_settings()
    # Fail here, with one clear line naming the file, rather than a traceback in every worker.
    open_store(settings.store)
    open_published(settings)
    console.print(f"http://{host}:{port}/ で提供します（OpenAPI: /api）", highlight=False)
    if workers > 1:
        # The workers stop when this process dies, even by SIGKILL (tsunagari_api.supervision).
        os.environ[SUPERVISOR_ENV] = str(os.getpid())
    else:
        os.environ.pop(SUPERVISOR_ENV, None)
    uvicorn.run(
        "tsunagari_api.factory:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        proxy_headers=True,
    )
