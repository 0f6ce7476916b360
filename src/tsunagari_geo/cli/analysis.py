"""``tsunagari-geo join | coverage | samples``: the spatial join and the coverage-gap analysis."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import typer

from tsunagari_geo.activities.models import Vocabulary
from tsunagari_geo.activities.readers import (
    Problem,
    ReadResult,
    read_activities,
    read_good_practices,
    read_organizations,
)
from tsunagari_geo.analysis.config import load_coverage_config
from tsunagari_geo.analysis.join import join_points
from tsunagari_geo.analysis.placement import placed_point
from tsunagari_geo.cli import DaskOption, WorkersOption, app
from tsunagari_geo.cli.console import console
from tsunagari_geo.errors import InputError
from tsunagari_geo.geocode import Geocoder
from tsunagari_geo.reference.attribution import REFERENCE_ATTRIBUTION, SMALL_AREA_ATTRIBUTION
from tsunagari_geo.reference.locator import unit_codes_at
from tsunagari_geo.settings import get_settings
from tsunagari_geo.store import Store, open_store
from tsunagari_geo.tables import read_table, write_table

if TYPE_CHECKING:
    from tsunagari_geo.analysis.coverage import CoverageResult


StoreOption = Annotated[
    Path | None, typer.Option("--store", help="参照データの GeoPackage（既定: $TSUNAGARI_STORE）")
]

_CHECK_LABELS = {
    "ok": "一致",
    "disagrees": "不一致",
    "unchecked": "照合なし",
    "outside_prefecture": "県外",
    "no_point": "座標なし",
    "bad_point": "座標不正",
}


def _store(path: Path | None) -> Store:
    return open_store(path or get_settings().store)


@app.command("join")
def join_cmd(
    input_path: Annotated[Path, typer.Argument(help="座標付きの表 (CSV, XLSX, GeoJSON, GPKG)")],
    out: Annotated[Path, typer.Option("--out", help="出力先 (CSV, XLSX, GeoJSON, GPKG)")],
    lon_column: Annotated[str | None, typer.Option("--lon-column", help="経度の列")] = None,
    lat_column: Annotated[str | None, typer.Option("--lat-column", help="緯度の列")] = None,
    store: StoreOption = None,
    dask: DaskOption = None,
    workers: WorkersOption = 2,
) -> None:
    """各行の座標から区域（72）と市町村（63）を判定し、unit_code・muni_code_by_point・join_check を加えます。

    行は一行も落としません。ジオコーダーの unit_code（なければ muni_code）と食い違う行、県外の点は
    join_check で示します。--dask で Dask のクラスタで分割して判定します（結果は同じです）。
    """
    frame = read_table(input_path)
    reference = _store(store)
    if dask is None:
        joined = join_points(frame, reference.units, lon_column=lon_column, lat_column=lat_column)
    else:
        from tsunagari_geo.analysis.join import join_points_on_dask
        from tsunagari_geo.cluster import dask_client, describe

        with dask_client(dask, workers=workers) as client:
            console.print(describe(client), highlight=False)
            joined = join_points_on_dask(
                frame, reference, client, lon_column=lon_column, lat_column=lat_column
            )
    write_table(joined, out)
    counts = Counter(joined["join_check"])
    summary = "、".join(f"{_CHECK_LABELS[k]} {counts[k]:,}" for k in _CHECK_LABELS if counts[k])
    console.print(f"{len(joined):,} 行を判定しました（{summary}）→ {out}", highlight=False)


def _geocode_missing(activities: gpd.GeoDataFrame, store: Store) -> list[Problem]:
    """Place rows that have an address but no point, with the offline geocoder.

    Each result is placed by :func:`placed_point`, the rule ``build`` uses too: a town gives
    a point; a municipality gives only ``unit_code``/``muni_code`` (for an address naming only
    さいたま市, the city and no ward), and the analysis counts the row there. Returns a warning
    per row left without a point.
    """
    problems: list[Problem] = []
    need = activities.geometry.isna() & activities["address"].notna()
    if not need.any():
        return problems
    geocoder = Geocoder.from_store(store)
    lat = activities["lat"].astype(float).to_numpy(copy=True)
    lng = activities["lng"].astype(float).to_numpy(copy=True)

    # Rows this pass does not geocode keep the codes they came with.
    def codes(column: str) -> npt.NDArray[np.object_]:
        if column not in activities.columns:
            return np.full(len(activities), "", dtype=object)
        return activities[column].fillna("").astype(str).to_numpy(dtype=object, copy=True)

    unit, muni = codes("unit_code"), codes("muni_code")
    level = np.zeros(len(activities), dtype=int)
    for i in np.flatnonzero(need.to_numpy()):
        found = geocoder.geocode(str(activities["address"].iat[i]))
        place = placed_point(found)
        level[i] = found.level
        unit[i], muni[i] = place.unit_code, place.muni_code
        if place.locates:
            lat[i], lng[i] = place.lat, place.lng
        else:
            problems.append(
                Problem(
                    int(activities["row"].iat[i]),
                    "address",
                    str(activities["address"].iat[i]),
                    f"住所から町字まで特定できません（{found.status} {found.reason}）; "
                    "市町村単位で数えます"
                    if place.precision == "municipality"
                    else f"住所を特定できません（{found.status} {found.reason}）",
                    "warning",
                )
            )
    activities["lat"], activities["lng"] = lat, lng
    activities["unit_code"] = unit
    activities["muni_code"] = muni
    activities["geocode_level"] = level
    activities.set_geometry(gpd.points_from_xy(lng, lat, crs=activities.crs), inplace=True)
    activities.loc[np.isnan(lat), activities.geometry.name] = None
    return problems


def _write_outputs(result: CoverageResult, out: Path, level: str) -> list[Path]:
    frame = result.municipalities if level == "municipality" else result.units
    if out.suffix.lower() in (".csv", ".xlsx"):
        # A spreadsheet gets the table only: boundary WKT would be megabytes per cell.
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    written = [write_table(frame, out)]
    for name, table in (("suggestions", result.suggestions), ("spread", result.spread)):
        written.append(write_table(table, out.with_name(f"{out.stem}.{name}.csv")))
    return written


def _report(results: list[ReadResult], extra: list[Problem], path: Path) -> Path:
    frames = [r.report.to_frame() for r in results]
    if extra:
        rows: dict[str, list[Any]] = {
            "file": [results[-1].report.path] * len(extra),
            "kind": ["Activity"] * len(extra),
            "row": [str(p.row) for p in extra],
            "column": [p.column or "" for p in extra],
            "value": [p.value for p in extra],
            "severity": [p.severity for p in extra],
            "message": [p.message for p in extra],
        }
        frames.append(pd.DataFrame(rows))
    return write_table(pd.concat(frames, ignore_index=True), path, attribution=())


coverage_app = typer.Typer(
    help="活動の空白地域の分析（coverage）と、新しい場所の候補（coverage plan）。",
    no_args_is_help=False,
)
app.add_typer(coverage_app, name="coverage")


@coverage_app.callback(invoke_without_command=True)
def coverage_cmd(
    ctx: typer.Context,
    activities: Annotated[
        Path | None, typer.Option("--activities", help="活動の表 (CSV, XLSX, GeoJSON)")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="出力先 (GeoJSON, GPKG, CSV)")] = None,
    organizations: Annotated[
        Path | None, typer.Option("--organizations", help="会員団体の表")
    ] = None,
    good_practices: Annotated[
        Path | None,
        typer.Option("--good-practices", help="好事例の表（既定: 同梱の good_practices.csv）"),
    ] = None,
    level: Annotated[
        str, typer.Option("--level", help="municipality（63 市町村）か unit（72 区域）")
    ] = "municipality",
    scheme: Annotated[
        str, typer.Option("--scheme", help="階級区分 (mapclassify: quantiles, naturalbreaks…)")
    ] = "quantiles",
    config: Annotated[
        Path | None, typer.Option("--config", help="重みと閾値（既定: 同梱の coverage.toml）")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="検証レポート CSV（既定: OUT.report.csv）")
    ] = None,
    no_geocode: Annotated[
        bool, typer.Option("--no-geocode", help="座標のない行をジオコーディングしない")
    ] = False,
    store: StoreOption = None,
) -> None:
    """活動の空白地域を分析します（市町村別の件数・人口当たり・到達圏・会員・ギャップスコア）。

    出力は市町村ごとの集計だけで、個々の活動の座標は含みません。マッチング候補と
    横展開の候補は OUT.suggestions.csv と OUT.spread.csv に書きます。
    """
    if ctx.invoked_subcommand is not None:
        return
    if activities is None or out is None:
        missing = "--activities" if activities is None else "--out"
        raise typer.BadParameter(f"{missing} を指定してください", param_hint=missing)
    if level not in ("municipality", "unit"):
        raise InputError("--level は municipality か unit です", value=level)
    ref = _store(store)
    # Imported here: mapclassify and scipy cost every other command a second at start-up.
    from tsunagari_geo.analysis.coverage import compute_coverage

    cfg = load_coverage_config(config)
    results: list[ReadResult] = []
    orgs = None
    vocab = Vocabulary.for_region(ref.region)
    if organizations is not None:
        org_result = read_organizations(organizations, vocabulary=vocab)
        results.append(org_result)
        orgs = org_result.records
    practices = read_good_practices(good_practices, vocabulary=vocab)
    results.append(practices)
    acts = read_activities(activities, organizations=orgs, vocabulary=vocab)
    results.append(acts)
    records = acts.records
    extra = [] if no_geocode else _geocode_missing(records, ref)

    result = compute_coverage(
        records, orgs, ref, good_practices=practices.records, config=cfg, scheme=scheme
    )
    written = _write_outputs(result, out, level)
    rows = dict(zip(records["id"], records["row"], strict=True))
    extra += [
        Problem(
            int(rows[i]),
            "address",
            "",
            f"場所を決められない対面活動のため数えていません（{why}）",
            "warning",
        )
        for i, why in zip(result.unlocated["id"], result.unlocated["reason"], strict=True)
    ]
    report_path = report or out.with_name(f"{out.stem}.report.csv")
    _report(results, extra, report_path)

    for r in results:
        console.print(r.report.summary(), highlight=False)
    table = result.municipalities if level == "municipality" else result.units
    flagged = int((table["flag_count"] > 0).sum())
    top = table.sort_values(["gap_rank", "code"]).head(5)
    console.print(
        f"{len(table)} 区域のうち {flagged} 区域に空白の兆候。ギャップスコア上位: "
        + "、".join(f"{n}（{s:.1f}）" for n, s in zip(top["name"], top["gap_score"], strict=True)),
        highlight=False,
    )
    if len(result.unlocated):
        console.print(
            f"[yellow]注意:[/] 場所を決められない対面活動 {len(result.unlocated)} 件は数えていません"
            f"（{report_path} を参照）",
            highlight=False,
        )
    console.print("出力: " + ", ".join(str(p) for p in [*written, report_path]), highlight=False)
    console.print("出典: " + " / ".join(REFERENCE_ATTRIBUTION), highlight=False)


@app.command("samples")
def samples_cmd(
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", help="出力先（既定: 同梱の samples フォルダ）")
    ] = None,
    templates_dir: Annotated[
        Path | None,
        typer.Option(
            "--templates-dir", help="テンプレートの出力先（既定: 同梱の templates フォルダ）"
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    """架空のサンプルデータ（団体・活動・相談窓口）と入力テンプレートを作り直します。"""
    from tsunagari_geo.activities.samples import (
        SAMPLES_DIR,
        TEMPLATES_DIR,
        generate_samples,
        write_samples,
        write_templates,
    )

    opened = _store(store)
    samples = generate_samples(opened)
    paths = write_samples(samples, out_dir or SAMPLES_DIR)
    paths += write_templates(opened, templates_dir or TEMPLATES_DIR)
    console.print(
        f"架空のサンプル: 団体 {len(samples.organizations)}、活動 {len(samples.activities)}、"
        f"相談窓口 {len(samples.consultations)} → " + ", ".join(str(p) for p in paths),
        highlight=False,
    )


def _radius_m(text: str) -> float:
    """``500m``, ``1km``, ``1.5km`` or plain metres (``2000``) → metres."""
    value = text.strip().lower()
    try:
        if value.endswith("km"):
            metres = float(value[:-2]) * 1000
        elif value.endswith("m"):
            metres = float(value[:-1])
        else:
            metres = float(value)
    except ValueError:
        raise InputError("--radius は 500m、1km のように指定します", value=text) from None
    if not 0 < metres <= 50_000:
        raise InputError("--radius は 0 より大きく 50km 以下です", value=text)
    return metres


def _read_candidates(path: Path) -> pd.DataFrame:
    """Candidate venues a planner names (公民館 …): ``name``, ``lat``, ``lng`` per row."""
    frame = read_table(path)
    missing = [c for c in ("name", "lat", "lng") if c not in frame.columns]
    if missing:
        raise InputError("候補の表に列がありません", path=path, column=", ".join(missing))
    out = pd.DataFrame({"name": frame["name"].fillna("").astype(str)})
    for column in ("lat", "lng"):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                "座標が数値ではありません", path=path, row=i + 2, column=column,
                value=frame[column].iat[i],
            )  # fmt: skip
        out[column] = values.to_numpy(dtype=float)
    out["candidate"] = out["name"]
    return out


@coverage_app.command("plan")
def plan_cmd(
    activities: Annotated[Path, typer.Option("--activities", help="活動の表 (CSV, XLSX, GeoJSON)")],
    new: Annotated[
        int | None,
        typer.Option("--new", help="新しく置く場所の数（既定: coverage.toml の [plan] new）"),
    ] = None,
    theme: Annotated[
        str | None, typer.Option("--theme", help="このテーマの活動だけで考える")
    ] = None,
    life_stage: Annotated[
        str | None, typer.Option("--life-stage", help="このライフステージの活動だけで考える")
    ] = None,
    radius: Annotated[
        str | None,
        typer.Option(
            "--radius", help="届く距離（500m、1km、2km …。既定: coverage.toml の [plan] radius_m）"
        ),
    ] = None,
    candidates: Annotated[
        Path | None,
        typer.Option("--candidates", help="候補の場所の表（name, lat, lng: 公民館など）"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="結果の出力先 (CSV, GeoJSON, GPKG)")
    ] = None,
    store: StoreOption = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="設定（既定: 同梱の coverage.toml）")
    ] = None,
) -> None:
    """新しい対面の場所をどこに置くと、いま近くに場所のない住民に最も多く届くかを示します。

    国勢調査の小地域（町丁・字等）の人口を使い、最大被覆問題（MCLP、PySAL spopt）で
    解きます。計画担当者向けの出力です（活動の位置は出力しません）。
    """
    from tsunagari_geo.activities.taxonomy import load_taxonomies
    from tsunagari_geo.analysis.plan import plan_from_store
    from tsunagari_geo.reference.locator import muni_codes_of, store_locator

    ref = _store(store)
    tax = load_taxonomies()
    if theme and life_stage:
        raise InputError(
            "--theme と --life-stage はどちらか一つです", value=f"{theme}, {life_stage}"
        )
    group = ""
    if theme:
        code = tax.themes.resolve(theme)
        if code is None:
            raise InputError("テーマが分かりません", column="--theme", value=theme)
        group = f"_theme_{code}"
    elif life_stage:
        code = tax.life_stages.resolve(life_stage)
        if code is None:
            raise InputError(
                "ライフステージが分かりません", column="--life-stage", value=life_stage
            )
        group = f"_{code}"
    plan_settings = load_coverage_config(config).plan
    metres = _radius_m(radius) if radius is not None else plan_settings.radius_m
    new = new if new is not None else plan_settings.new
    acts = read_activities(activities, vocabulary=Vocabulary.for_region(ref.region))
    records = acts.records
    _geocode_missing(records, ref)
    cand = _read_candidates(candidates) if candidates is not None else None
    if cand is not None:
        located = unit_codes_at(store_locator(ref), cand["lng"], cand["lat"])
        to_muni = muni_codes_of(ref.units)
        cand["unit_code"] = located
        cand["muni_code"] = [to_muni.get(u, "") for u in located]
    plan = plan_from_store(
        records, ref, tax, new=new, radius_m=metres, group=group, candidates=cand
    )
    names = ref.region.registry.by_code
    console.print(
        f"{metres:g} m 以内に対面の場所がない住民: {plan.unreached:,} 人（小地域の人口 "
        f"{plan.population:,} 人の {plan.unreached / max(plan.population, 1):.1%}）。"
        f"候補 {plan.candidates:,} か所（ほかの候補に含まれない {plan.offered:,} か所）から"
        f"{len(plan.choices)} か所を選びました（{plan.seconds:.1f} 秒）",
        highlight=False,
    )
    for r in plan.choices.itertuples():
        unit = names[r.unit_code].name if r.unit_code in names else "県外"
        console.print(
            f"{r.order:>3}. {unit} {r.name or r.candidate}: 新たに {r.newly_reached:,} 人"
            f"（累計 {r.running_total:,} 人）",
            highlight=False,
        )
    if out is not None:
        frame = plan.choices.rename(
            columns={
                "order": "順位", "candidate": "候補", "name": "名称", "unit_code": "unit_code",
                "newly_reached": "新たに届く住民", "running_total": "累計",
            }
        )  # fmt: skip
        write_table(frame, out, attribution=(*REFERENCE_ATTRIBUTION, SMALL_AREA_ATTRIBUTION))
        console.print(f"出力: {out}", highlight=False)
    console.print(
        "出典: " + " / ".join((*REFERENCE_ATTRIBUTION, SMALL_AREA_ATTRIBUTION)), highlight=False
    )
