"""Shared test inputs for the layers, API and tiles tests (helpers only; no tests here).

The sample dataset plus four crafted activities whose every text field carries a unique
marker and whose exact coordinates are distinctive, so that a test can search every public
response and tile for them:

* ``zz-hidden-1``: location_privacy hidden (must be absent everywhere public);
* ``zz-unpub-1``: published false (must be absent everywhere public);
* ``zz-town-1``: location_privacy town (public at 常盤六丁目's dictionary point, no 番地);
* ``zz-muni-1``: location_privacy municipality (public at 秩父市's representative point).

``zz-town-1`` has a phone, e-mail and LINE link its member did not make public
(``contact_public`` no: :data:`SECRET_PHONE`, :data:`SECRET_CONTACT` are secret markers);
``zz-muni-1`` a public phone, a 第2土曜 rule, ages 13–18 and Nepali.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tsunagari_api.settings import ApiSettings
from tsunagari_geo.layers.build import BuildInputs, BuildReport, build_layers
from tsunagari_geo.layers.public_ids import public_id
from tsunagari_geo.resources import SAMPLES_DIR as SAMPLES
from tsunagari_geo.store import open_store

REPO = Path(__file__).resolve().parent.parent
TOKEN = "test-token-7d1e9b"
#: The key the test deployments hash public ids with (a real build keeps one beside planner.gpkg).
PUBLIC_ID_KEY = b"test-public-id-key-5b0c2e9f41d7a3"


def public_id_of(member_id: str) -> str:
    """What the test deployments' public view calls the activity ``member_id``."""
    return public_id(member_id, PUBLIC_ID_KEY)


#: A contact its member did not make public (``zz-town-1``'s): phone, e-mail and LINE.
SECRET_PHONE = "048-555-9731"
SECRET_CONTACT = "contact-4e2b"
#: A contact its member made public (``zz-muni-1``'s).
PUBLIC_PHONE = "048-555-9000"
#: Markers that must never appear in anything public.
SECRET_MARKERS = (
    "HIDDEN-7f3a",
    "UNPUB-9c1e",
    "zz-hidden-1",
    "zz-unpub-1",
    SECRET_PHONE,
    SECRET_PHONE.replace("-", ""),
    SECRET_CONTACT,
)
#: Exact points (lon, lat) that must never appear in anything public.
SECRET_POINTS = {
    "zz-hidden-1": (139.456789, 35.912345),
    "zz-unpub-1": (139.387654, 35.987654),
    "zz-town-1": (139.641999, 35.861999),
    "zz-muni-1": (139.0881234, 36.0071234),
}
TOWN_POINT = (139.643489, 35.861675)  # 常盤六丁目 in the dictionary


def _row(**values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "organization_id": "org-001",
        "themes": "ibasho",
        "life_stages": "all_ages",
        "format": "in_person",
        "published": "true",
        "fiscal_year": 2025,
        "is_fictional": "true",
    }
    base.update(values)
    return base


CRAFTED = [
    _row(
        id="zz-hidden-1",
        name="秘匿テスト HIDDEN-7f3a 活動",
        description="HIDDEN-7f3a の説明",
        schedule_text="HIDDEN-7f3a 毎週",
        target_text="HIDDEN-7f3a 対象",
        address="埼玉県川越市大字上寺山12-34",
        lng=SECRET_POINTS["zz-hidden-1"][0],
        lat=SECRET_POINTS["zz-hidden-1"][1],
        location_privacy="hidden",
    ),
    _row(
        id="zz-unpub-1",
        name="秘匿テスト UNPUB-9c1e 活動",
        description="UNPUB-9c1e の説明",
        schedule_text="UNPUB-9c1e 毎週",
        address="埼玉県川越市大字上広谷56-78",
        lng=SECRET_POINTS["zz-unpub-1"][0],
        lat=SECRET_POINTS["zz-unpub-1"][1],
        location_privacy="exact",
        published="false",
    ),
    _row(
        id="zz-town-1",
        name="町字テスト活動",
        description="町字までの公開",
        address="埼玉県さいたま市浦和区常盤六丁目4-4",
        lng=SECRET_POINTS["zz-town-1"][0],
        lat=SECRET_POINTS["zz-town-1"][1],
        location_privacy="town",
        phone=SECRET_PHONE,
        email=f"{SECRET_CONTACT}@example.jp",
        line_url=f"https://line.me/R/ti/p/@{SECRET_CONTACT}",
        contact_public="いいえ",
    ),
    _row(
        id="zz-muni-1",
        name="市町村テスト活動",
        description="市町村までの公開",
        address="埼玉県秩父市相生町9-9",
        lng=SECRET_POINTS["zz-muni-1"][0],
        lat=SECRET_POINTS["zz-muni-1"][1],
        location_privacy="municipality",
        phone=PUBLIC_PHONE,
        contact_public="はい",
        rrule="FREQ=MONTHLY;BYDAY=2SA",
        opens_at="10:00",
        closes_at="12:00",
        minimum_age="13",
        maximum_age="18",
        languages="ja;ne",
    ),
]


def write_inputs(dest: Path) -> BuildInputs:
    """The sample organisations and consultations, and the sample activities + CRAFTED."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLES / "organizations.csv", dest / "organizations.csv")
    shutil.copy(SAMPLES / "consultations.csv", dest / "consultations.csv")
    activities = pd.read_csv(SAMPLES / "activities.csv", dtype=str, encoding="utf-8-sig")
    crafted = pd.DataFrame(CRAFTED).astype(str)
    out = pd.concat([activities, crafted], ignore_index=True)
    out.to_csv(dest / "activities.csv", index=False, encoding="utf-8-sig")
    return BuildInputs(
        organizations=dest / "organizations.csv",
        activities=dest / "activities.csv",
        consultations=dest / "consultations.csv",
    )


@dataclass(frozen=True)
class Built:
    """A built test deployment: its settings (layers, planner file, tiles dir) and report."""

    settings: ApiSettings
    report: BuildReport


def build_deployment(dest: Path, store_path: Path, *, token: str | None = TOKEN) -> Built:
    """Run the real pipeline on the test inputs into ``dest``; settings point at the result."""
    inputs = write_inputs(dest / "inputs")
    store = open_store(store_path)
    report = build_layers(
        store,
        inputs=inputs,
        out=dest / "layers.gpkg",
        planner_out=dest / "planner.gpkg",
        id_key=PUBLIC_ID_KEY,
    )
    settings = ApiSettings(
        store=store_path,
        layers=dest / "layers.gpkg",
        planner_layers=dest / "planner.gpkg",
        tiles_dir=dest / "tiles",
        token=token,
        cors_origins=["https://example.pref.saitama.lg.jp"],
        max_body_bytes=200_000,
    )
    return Built(settings=settings, report=report)
