"""The FICTIONAL sample dataset and the input templates, shipped in ``tsunagari_geo/resources``.

Every organisation, activity and consultation window made here is invented (架空): the files
carry ``is_fictional=true`` and ``source=fictional sample`` on every row, and
``resources/samples/README.md`` says so. Only the places are real: each address is a real town
(大字・町丁目) of the reference store's dictionary with a random block number, never an
invented street.

The spread is uneven on purpose, like a real platform's: activities follow population,
weighted up in the south-east (さいたま市, 川口市, 越谷市, 草加市, …) and down in 秩父 and the
north, so a few small municipalities have none. Most rows have no ``lat``/``lng`` (the
pipeline geocodes them); some have a point near their town. A few rows are hidden, town-level
or municipality-level for privacy, a few unpublished, and a few online or phone services
serve the whole prefecture.

The generator is deterministic: the same store and seed give byte-identical files
(``tsunagari-geo samples`` rewrites them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from tsunagari_geo.activities.models import Activity, Organization, headers
from tsunagari_geo.activities.readers import to_table
from tsunagari_geo.region import Region
from tsunagari_geo.resources import SAMPLES_DIR, TEMPLATES_DIR
from tsunagari_geo.store import Store
from tsunagari_geo.tables import write_table

SEED = 20241
FICTIONAL_SOURCE = "fictional sample (tsunagari-geo samples)"


_WORDS = (
    "ひだまり", "こもれび", "つむぎ", "わたげ", "ともしび", "みちくさ", "あおぞら", "えがお",
    "ほっと", "まなび", "たんぽぽ", "どんぐり", "かけはし", "よりみち", "ぬくもり", "はぐくみ",
    "ゆいまーる", "きずな", "そよかぜ", "あかり", "めばえ", "なないろ", "つばさ", "おむすび",
)  # fmt: skip
_NPO_FORMS = ("NPO法人 {w}の会", "一般社団法人 {w}ネット", "{w}クラブ", "NPO法人 {w}ひろば",
              "{w}プロジェクト", "認定NPO法人 {w}サポート")  # fmt: skip
_COMPANY_FORMS = ("株式会社{w}ライフ", "{w}商事株式会社", "{w}運輸株式会社", "株式会社{w}フーズ",
                  "{w}信用金庫（架空）", "{w}建設協会")  # fmt: skip
_OTHER_FORMS = ("{w}自治会", "{w}ボランティアの会", "学校法人{w}学園", "{w}民生委員有志の会")

#: Activity name patterns by leading theme.
_NAMES = {
    "ibasho": ("{t}ふれあいサロン", "{w}カフェ", "みんなの居場所「{w}」"),
    "consultation": ("{t}なんでも相談会", "{w}よろず相談", "暮らしの相談窓口「{w}」"),
    "childcare": ("{t}子育てひろば", "親子サロン{w}", "ママ・パパの{w}ひろば"),
    "children_school": ("{t}子ども食堂", "{w}学習支援教室", "不登校の親の会「{w}」"),
    "youth": ("若者の居場所「{w}」", "ユースカフェ{w}", "{t}若者サポート"),
    "hikikomori": ("ひきこもり家族会「{w}」", "{w}ひきこもり相談", "{t}ひきこもりサロン"),
    "elderly": ("{t}いきいきサロン", "{w}見守り訪問", "シニアの{w}体操"),
    "disability": ("{w}障がい者交流会", "{t}ピアサロン", "{w}ふれあい作業所"),
    "poverty_food": ("{t}フードパントリー", "{w}フードバンク", "食の支援「{w}」"),
    "employment": ("{w}就労体験", "{t}しごと相談", "はたらく準備講座「{w}」"),
    "foreign_residents": ("{t}日本語教室", "多文化交流{w}", "外国人生活相談「{w}」"),
    "community": ("{t}まちづくりカフェ", "{w}見守りネット", "{t}地域食堂"),
    "awareness_training": ("ゲートキーパー養成講座（{t}）", "{w}孤独・孤立を考える会", "{t}つながり講座"),
}  # fmt: skip
_STAGES_FOR_THEME = {
    "childcare": ("perinatal",),
    "children_school": ("children",),
    "youth": ("youth",),
    "hikikomori": ("youth", "working_age"),
    "elderly": ("elderly",),
    "employment": ("youth", "working_age"),
}
_THEME_WEIGHTS = {
    "ibasho": 14, "consultation": 8, "childcare": 9, "children_school": 12, "youth": 5,
    "hikikomori": 3, "elderly": 13, "disability": 5, "poverty_food": 7, "employment": 4,
    "foreign_residents": 3, "community": 8, "awareness_training": 3,
}  # fmt: skip
_DAYS = (("月", "MO"), ("火", "TU"), ("水", "WE"), ("木", "TH"), ("金", "FR"), ("土", "SA"))
#: Age bounds (下限, 上限) a row of each life stage states when it states any; None: no bound.
_AGES_FOR_STAGE: dict[str, tuple[int | None, int | None]] = {
    "children": (6, 15),
    "youth": (15, 39),
    "working_age": (18, 64),
    "elderly": (65, None),
}
#: Languages offered besides Japanese, for the foreign residents' activities.
_OTHER_LANGUAGES = ("en", "zh-Hans", "vi", "pt", "tl", "ko", "ne")
#: The member's own English and やさしい日本語 names, by leading theme (optional columns).
_NAMES_EN = {
    "ibasho": "Community drop-in space", "consultation": "Advice session",
    "childcare": "Parent and child space", "children_school": "Children's meals and study",
    "youth": "Youth space", "hikikomori": "Family support group", "elderly": "Seniors' salon",
    "disability": "Peer meeting", "poverty_food": "Food pantry", "employment": "Job support",
    "foreign_residents": "Japanese class and life advice", "community": "Community cafe",
    "awareness_training": "Gatekeeper training",
}  # fmt: skip
_NAMES_EASY = {
    "ibasho": "だれでも いける ばしょ", "consultation": "こまったことの そうだん",
    "childcare": "おやこで あそぶ ばしょ", "children_school": "こどもの ごはんと べんきょう",
    "youth": "わかものの ばしょ", "hikikomori": "かぞくの あつまり",
    "elderly": "おとしよりの あつまり", "disability": "しょうがいの ある ひとの あつまり",
    "poverty_food": "たべものを もらえる ところ", "employment": "しごとの そうだん",
    "foreign_residents": "にほんごきょうしつ", "community": "まちの カフェ",
    "awareness_training": "まわりの ひとを まもる こうざ",
}  # fmt: skip


@dataclass(frozen=True)
class Samples:
    """The three sample tables, as text cells ready to write."""

    organizations: pd.DataFrame
    activities: pd.DataFrame
    consultations: pd.DataFrame


def generate_samples(
    store: Store, *, seed: int = SEED, organizations: int = 160, activities: int = 420
) -> Samples:
    """Make the fictional dataset from the store's real towns and population (deterministic).

    Names and addresses are those of the store's region (``store.region``).
    """
    region = store.region
    rng = np.random.default_rng(seed)
    units = store.units.sort_values("code").reset_index(drop=True)
    towns = store.towns.sort_values(["unit_code", "town"]).reset_index(drop=True)
    codes = units["code"].astype(str).to_numpy()
    dense, thin = region.sample_codes("dense"), region.sample_codes("thin")
    factor = np.array([2.2 if c in dense else 0.3 if c in thin else 1.0 for c in codes])
    weight = units["pop_total"].to_numpy(dtype=float) ** 1.1 * factor
    weight /= weight.sum()

    orgs = _organizations(rng, region, codes, weight, organizations)
    acts = _activities(rng, region, towns, orgs, codes, weight, activities)
    # Contacts, hours, ages and languages come from their own stream, so the columns that
    # were there before them (and every figure counted from them) stay as they were.
    acts = _contact_and_time(np.random.default_rng([seed, 15]), acts)
    return Samples(
        organizations=to_table(orgs),
        activities=to_table(acts),
        consultations=_consultations(region),
    )


def _organizations(
    rng: np.random.Generator,
    region: Region,
    codes: np.ndarray,
    weight: np.ndarray,
    n: int,
) -> pd.DataFrame:
    registry = region.registry
    rows: list[dict[str, object]] = []
    used: set[str] = set()

    def add(name: str, kind: str, base: str) -> None:
        # Word lists are short; a clash gets a number so names stay unique.
        final, k = name, 2
        while final in used:
            final, k = f"{name}{k}", k + 1
        used.add(final)
        since = date(2022, 4, 1) + timedelta(days=int(rng.integers(0, 1200)))
        rows.append(
            {
                "id": f"org-{len(rows) + 1:03d}",
                "name": final,
                "kind": kind,
                "base_muni_code": base,
                "member_since": since,
                "url": None,
                "source": FICTIONAL_SOURCE,
                "is_fictional": True,
            }
        )

    # The prefecture is a member with no home municipality (it is not a municipal government).
    add(f"{region.pref_name} 福祉部（架空の会員データ）", "行政", "")
    munis = sorted({registry.by_code[c].muni_code for c in codes})
    by_muni = pd.Series(weight, index=[registry.by_code[c].muni_code for c in codes])
    muni_weight = by_muni.groupby(level=0).sum().reindex(munis).to_numpy()
    # Municipal governments join more often where the platform is dense.
    for muni in munis:
        share = muni_weight[munis.index(muni)] / muni_weight.max()
        if rng.random() < 0.25 + 0.75 * share:
            add(f"{registry.by_code[muni].name} 福祉担当課", "行政", muni)
    n_shakyo = min(28, len(munis))
    for muni in rng.choice(munis, size=n_shakyo, replace=False, p=muni_weight / muni_weight.sum()):
        add(f"{registry.by_code[str(muni)].name}社会福祉協議会", "社協", str(muni))
    while len(rows) < n:
        kind = rng.choice(["NPO等", "企業・業界団体", "その他"], p=[0.6, 0.25, 0.15])
        forms = {"NPO等": _NPO_FORMS, "企業・業界団体": _COMPANY_FORMS, "その他": _OTHER_FORMS}
        name = str(rng.choice(forms[str(kind)])).format(w=rng.choice(_WORDS))
        base = str(rng.choice(codes, p=weight))
        add(name, str(kind), base)
    return pd.DataFrame(rows, columns=list(headers(Organization)))


def _activities(
    rng: np.random.Generator,
    region: Region,
    towns: pd.DataFrame,
    orgs: pd.DataFrame,
    codes: np.ndarray,
    weight: np.ndarray,
    n: int,
) -> pd.DataFrame:
    registry = region.registry
    theme_codes = list(_THEME_WEIGHTS)
    theme_p = np.array(list(_THEME_WEIGHTS.values()), dtype=float)
    theme_p /= theme_p.sum()
    org_base = orgs["base_muni_code"].astype(str).to_numpy()
    org_muni = np.array([registry.by_code[b].muni_code if b else "" for b in org_base])
    towns_by_unit = {c: g for c, g in towns.groupby("unit_code")}
    n_remote = 12
    # One activity in every municipality but the region's empty ones first (a ward for a designated city), so
    # that most municipalities appear; the rest follows the weights.
    firsts: dict[str, str] = {}
    for code in rng.permutation(codes):
        firsts.setdefault(registry.by_code[str(code)].muni_code, str(code))
    empty = region.sample_codes("empty")
    seeded = [u for m, u in sorted(firsts.items()) if m not in empty]
    weight = np.where(np.isin(codes, list(empty)), 0.0, weight)
    weight = weight / weight.sum()
    rows: list[dict[str, object]] = []
    for i in range(n):
        remote = i < n_remote
        k_seed = i - n_remote
        unit = seeded[k_seed] if 0 <= k_seed < len(seeded) else str(rng.choice(codes, p=weight))
        muni = registry.by_code[unit].muni_code
        local_orgs = np.flatnonzero((org_base == unit) | (org_muni == muni))
        pool = local_orgs if len(local_orgs) and rng.random() < 0.85 else np.arange(len(orgs))
        org = orgs.iloc[int(rng.choice(pool))]
        k = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
        themes = list(dict.fromkeys(rng.choice(theme_codes, size=k, p=theme_p).tolist()))
        stages = sorted({s for t in themes for s in _STAGES_FOR_THEME.get(t, ())})
        if not stages or rng.random() < 0.15:
            stages = ["all_ages"] if rng.random() < 0.6 else [*stages, "working_age"]
        town_rows = towns_by_unit[unit]
        town = town_rows.iloc[int(rng.integers(0, len(town_rows)))]
        day_ja, day_rrule = _DAYS[int(rng.integers(0, len(_DAYS)))]
        hour = int(rng.choice([10, 13, 15, 18]))
        fmt = (
            str(rng.choice(["online", "phone"]))
            if remote
            else str(
                rng.choice(["in_person", "outreach", "online", "phone"], p=[0.8, 0.07, 0.08, 0.05])
            )
        )
        name = str(rng.choice(_NAMES[themes[0]])).format(
            w=rng.choice(_WORDS), t=str(town["town"]).removeprefix("大字")
        )
        with_point = not remote and rng.random() < 0.22
        jitter = rng.uniform(-0.0004, 0.0004, size=2)
        privacy = "exact"
        roll = rng.random()
        if roll < 0.015:
            privacy = "hidden"
        elif roll < 0.04:
            privacy = "town"
        elif roll < 0.05:
            privacy = "municipality"
        verified = date(2024, 4, 1) + timedelta(days=int(rng.integers(0, 700)))
        rows.append(
            {
                "id": f"act-{i + 1:04d}",
                "organization_id": org["id"],
                "name": name if not remote else f"{name}（オンライン・電話）",
                "description": "架空のサンプルデータです。",
                "themes": themes,
                "life_stages": stages,
                "format": fmt,
                "schedule_text": f"毎週{day_ja}曜 {hour}:00–{hour + 2}:00",
                "rrule": f"FREQ=WEEKLY;BYDAY={day_rrule}",
                "fee": str(rng.choice(["無料", "100円", "300円", "実費"])),
                "target_text": "どなたでも" if "all_ages" in stages else None,
                "url": None,
                "address": None if remote else _address(rng, region, unit, str(town["town"])),
                "lat": round(float(town["lat"]) + jitter[1], 6) if with_point else None,
                "lng": round(float(town["lng"]) + jitter[0], 6) if with_point else None,
                "serves": ["prefecture"] if remote else [unit],
                "location_privacy": privacy,
                "published": bool(rng.random() > 0.015),
                "place_text_reviewed": None,
                "last_verified": verified,
                "fiscal_year": 2025,
                "source": FICTIONAL_SOURCE,
                "is_fictional": True,
            }
        )
    return pd.DataFrame(rows, columns=list(headers(Activity)))


def _contact_and_time(rng: np.random.Generator, acts: pd.DataFrame) -> pd.DataFrame:
    """Hours, monthly rules, age bounds, languages, contacts and translated names.

    Every field is exercised: weekly, 第N and 第2・第4 rules; rows with and without age
    bounds; Japanese-only and multilingual rows; phone numbers on every telephone-format
    activity and on some others, e-mail and LINE links, some of them with
    ``contact_public`` no. The numbers are FICTIONAL: Japan has no reserved range for
    examples, so they are written as ``0120-000-…`` (telephone services) and
    ``048-555-…`` (others), the e-mails are at ``example.jp`` (a domain reserved for
    examples) and the LINE links name ``@tsunagari-sample-…``.
    """
    acts = acts.copy()
    out: dict[str, list[object]] = {
        k: []
        for k in (
            "schedule_text", "rrule", "opens_at", "closes_at", "minimum_age", "maximum_age",
            "languages", "phone", "email", "line_url", "contact_public", "name_en",
            "description_en", "name_easy", "description_easy",
        )
    }  # fmt: skip
    for i, row in enumerate(acts.to_dict("records"), start=1):
        text, rule = str(row["schedule_text"]), str(row["rrule"])
        m = re.fullmatch(r"毎週(.)曜 (\d+):00–(\d+):00", text)
        assert m is not None and rule.startswith("FREQ=WEEKLY;BYDAY="), text
        day_ja, start, end = m[1], int(m[2]), int(m[3])
        day = rule.removeprefix("FREQ=WEEKLY;BYDAY=")
        roll = rng.random()
        if roll < 0.2:
            n = int(rng.integers(1, 5))
            text, rule = f"毎月第{n}{day_ja}曜 {start}:00–{end}:00", f"FREQ=MONTHLY;BYDAY={n}{day}"
        elif roll < 0.3:
            text = f"第2・第4{day_ja}曜 {start}:00–{end}:00"
            rule = f"FREQ=MONTHLY;BYDAY=2{day},4{day}"
        out["schedule_text"].append(text)
        out["rrule"].append(rule)
        out["opens_at"].append(f"{start:02d}:00")
        out["closes_at"].append(f"{end:02d}:00")

        stages = list(row["life_stages"])
        bounds = [_AGES_FOR_STAGE.get(s, (None, None)) for s in stages]
        stated = rng.random() < 0.7 and "all_ages" not in stages and bool(bounds)
        lows = [b[0] for b in bounds]
        highs = [b[1] for b in bounds]
        low = None if not stated or None in lows else min(x for x in lows if x is not None)
        high = None if not stated or None in highs else max(x for x in highs if x is not None)
        out["minimum_age"].append(low)
        out["maximum_age"].append(high)

        themes = list(row["themes"])
        languages = ["ja"]
        if "foreign_residents" in themes:
            k = int(rng.integers(2, 5))
            languages += [str(x) for x in rng.choice(_OTHER_LANGUAGES, size=k, replace=False)]
        elif rng.random() < 0.08:
            languages.append("en")
        out["languages"].append(languages if rng.random() < 0.9 else [])

        fmt = str(row["format"])
        phone = None
        if fmt == "phone":
            phone = f"0120-000-{i:03d}"
        elif rng.random() < 0.4:
            phone = f"048-555-{i:04d}"
        email = f"act-{i:04d}@example.jp" if rng.random() < 0.3 else None
        line = (
            f"https://line.me/R/ti/p/@tsunagari-sample-{i:03d}"
            if fmt == "online" or rng.random() < 0.08
            else None
        )
        has_contact = bool(phone or email or line)
        public = None if not has_contact else bool(rng.random() < (0.9 if fmt == "phone" else 0.7))
        out["phone"].append(phone)
        out["email"].append(email)
        out["line_url"].append(line)
        out["contact_public"].append(public)

        lead = themes[0]
        english = "foreign_residents" in themes or rng.random() < 0.1
        easy = "foreign_residents" in themes or rng.random() < 0.1
        out["name_en"].append(f"{_NAMES_EN[lead]} (sample)" if english else None)
        out["description_en"].append("Fictional sample data." if english else None)
        out["name_easy"].append(f"{_NAMES_EASY[lead]}（れい）" if easy else None)
        out["description_easy"].append(
            "これは ほんとうには ない れいの データです。" if easy else None
        )
    for key, values in out.items():
        acts[key] = pd.Series(values, index=acts.index, dtype=object)
    return acts


def _address(rng: np.random.Generator, region: Region, unit: str, town: str) -> str:
    m = region.registry.by_code[unit]
    if town.endswith("丁目"):
        block = f"{int(rng.integers(1, 30))}-{int(rng.integers(1, 20))}"
    else:
        block = f"{int(rng.integers(1, 3000))}"
    return f"{region.pref_name}{m.full_name}{town}{block}"


def _consultations(region: Region) -> pd.DataFrame:
    """Fictional consultation windows (架空の相談窓口); phone numbers are not real numbers.

    The local windows serve what the region's ``[samples.windows]`` names; a window it does
    not name, or none of whose codes is in the region, serves the whole prefecture.
    """
    rows = [
        ("cw-01", "（架空）こころの電話相談", "架空の相談センター", "all_ages", "health_mind;loneliness", "phone", "毎日 9:00–21:00", "prefecture"),
        ("cw-02", "（架空）子育てLINE相談", "架空の子育て支援団体", "perinatal;children", "parenting;family", "sns_chat", "平日 17:00–22:00", "prefecture"),
        ("cw-03", "（架空）若者のチャット相談", "架空の若者支援ネット", "youth", "relationships;loneliness;work", "sns_chat;email", "火・金 18:00–23:00", "prefecture"),
        ("cw-04", "（架空）くらしとお金の相談", "架空の生活支援センター", "working_age;elderly", "money_living;work", "phone;in_person", "平日 9:00–17:00", "local"),
        ("cw-05", "（架空）いじめ・不登校相談", "架空の教育相談室", "children", "bullying_school;family", "phone;online", "平日 10:00–18:00", "local"),
        ("cw-06", "（架空）DV・虐待ホットライン", "架空の女性相談所", "all_ages", "dv_abuse;family", "phone", "24時間", "prefecture"),
        ("cw-07", "（架空）高齢者よろず相談", "架空の地域包括支援センター", "elderly", "health_mind;family;loneliness", "phone;in_person", "平日 8:30–17:15", "local"),
        ("cw-08", "（架空）しごと・就労相談", "架空の就労支援センター", "youth;working_age", "work;money_living", "in_person;online", "月–土 10:00–19:00", "local"),
        ("cw-09", "（架空）外国人のための生活相談", "架空の国際交流協会", "all_ages", "money_living;work;family", "phone;email", "平日 10:00–16:00", "prefecture"),
        ("cw-10", "（架空）ひきこもり家族相談", "架空の家族会", "youth;working_age", "family;loneliness", "phone;in_person", "第2・第4土曜 13:00–16:00", "local"),
        ("cw-11", "（架空）性とジェンダーの相談", "架空の相談団体", "youth;working_age", "sexuality_gender;relationships", "sns_chat", "水 19:00–22:00", "prefecture"),
        ("cw-12", "（架空）犯罪被害者相談", "架空の支援センター", "all_ages", "crime_victim", "phone", "平日 10:00–16:00", "prefecture"),
    ]  # fmt: skip
    frame = pd.DataFrame(
        rows,
        columns=[
            "id", "name", "provider", "life_stages", "circumstances", "channels", "hours_text",
            "serves",
        ],
    )  # fmt: skip
    known = region.registry.by_code
    wanted = [
        region.sample_window_serves(i) if serves == "local" else serves
        for i, serves in zip(frame["id"], frame["serves"], strict=True)
    ]
    frame["serves"] = [
        ";".join(kept) if (kept := [c for c in serves.split(";") if c in known]) else "prefecture"
        for serves in wanted
    ]
    # FICTIONAL contacts: 0120-000-9xx numbers (Japan reserves no range for examples), LINE
    # links named @tsunagari-sample-…, e-mail at example.jp (reserved for examples).
    channels = frame["channels"].str.split(";")
    frame["phone"] = [
        f"0120-000-{900 + i}" if "phone" in c else "" for i, c in enumerate(channels, start=1)
    ]
    frame["email"] = [
        f"cw-{i:02d}@example.jp" if "email" in c else "" for i, c in enumerate(channels, start=1)
    ]
    frame["line_url"] = [
        f"https://line.me/R/ti/p/@tsunagari-sample-cw{i:02d}" if "sns_chat" in c else ""
        for i, c in enumerate(channels, start=1)
    ]
    frame["url"] = ""
    frame["address"] = ""
    frame["lat"] = ""
    frame["lng"] = ""
    frame["source"] = FICTIONAL_SOURCE
    frame["is_fictional"] = "true"
    return frame


def write_samples(samples: Samples, directory: Path | str = SAMPLES_DIR) -> list[Path]:
    """Write ``organizations.csv``, ``activities.csv`` and ``consultations.csv`` (UTF-8)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return [
        write_table(samples.organizations, directory / "organizations.csv", attribution=()),
        write_table(samples.activities, directory / "activities.csv", attribution=()),
        write_table(samples.consultations, directory / "consultations.csv", attribution=()),
    ]


def _example_place(store: Store) -> tuple[str, str]:
    """(address, unit code) of the template's example row: block 1-1 of the first 丁目 of the
    region's most populous unit (埼玉県川口市…一丁目1-1), a real town in the store."""
    units = store.units.sort_values(["pop_total", "code"], ascending=[False, True])
    unit = str(units["code"].iat[0])
    towns = sorted(str(t) for t in store.towns.loc[store.towns["unit_code"] == unit, "town"])
    town = next((t for t in towns if t.endswith("一丁目")), towns[0] if towns else "")
    region = store.region
    name = region.registry.by_code[unit].full_name
    return f"{region.pref_name}{name}{town}1-1", unit


def template_frame(store: Store) -> pd.DataFrame:
    """The activity template: headers ``日本語 (key)`` and one example row marked fictional,
    placed in a real town of ``store``'s region."""
    address, unit = _example_place(store)
    example = {
        "id": "example-001",
        "organization_id": "org-001",
        "name": "（記入例）みんなの居場所",
        "description": "記入例です。この行は消してください。",
        "themes": "居場所;高齢者",
        "life_stages": "全世代",
        "format": "対面",
        "schedule_text": "毎週火曜 10:00–12:00",
        "rrule": "FREQ=WEEKLY;BYDAY=TU",
        "opens_at": "10:00",
        "closes_at": "12:00",
        "fee": "無料",
        "target_text": "どなたでも",
        "minimum_age": "",
        "maximum_age": "",
        "languages": "ja;en",
        "url": "",
        "phone": "048-555-0100",
        "email": "info@example.jp",
        "line_url": "https://line.me/R/ti/p/@tsunagari-sample-000",
        "contact_public": "いいえ",
        "name_en": "(Example) A place for everyone",
        "description_en": "An example row. Please delete it.",
        "name_easy": "（れい）みんなの いばしょ",
        "description_easy": "かきかたの れいです。この ぎょうは けして ください。",
        "address": address,
        "lat": "",
        "lng": "",
        "serves": unit,
        "location_privacy": "town",
        "published": "true",
        "place_text_reviewed": "",
        "last_verified": "2025-04-01",
        "fiscal_year": "2025",
        "source": "",
        "is_fictional": "true",
    }
    labels = headers(Activity)
    return pd.DataFrame(
        [[example[k] for k in labels]], columns=[f"{v} ({k})" for k, v in labels.items()]
    )


def write_templates(store: Store, directory: Path | str = TEMPLATES_DIR) -> list[Path]:
    """Write ``activities.csv`` and ``activities.xlsx`` templates for ``store``'s region."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    frame = template_frame(store)
    return [
        write_table(frame, directory / "activities.csv", attribution=()),
        write_table(frame, directory / "activities.xlsx", attribution=()),
    ]
