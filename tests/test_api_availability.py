"""When and for whom, over HTTP: ``open_on``, ``age``, ``language`` and the open-days calendar.

The real service (`tsunagari-geo serve`, uvicorn) on the test deployment: the samples plus
the crafted rows, among them ``zz-muni-1`` (第2土曜, ages 13–18, Japanese and Nepali). Expected
answers are worked out here from the public layer with dateutil directly, not through the
service's own schedule module.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from dateutil.rrule import rrulestr

from server_helpers import free_port, running, serve_command, serve_env
from test_layers_fixtures import Built, build_deployment, public_id_of
from tsunagari_geo.layers.published import LayerSet

SECOND_SATURDAY = date(2026, 12, 12)
THIRD_SATURDAY = date(2026, 12, 19)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Built:
    return build_deployment(tmp_path_factory.mktemp("availability"), store_path)


@pytest.fixture(scope="module")
def server(built: Built) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(serve_command(port), f"{base}/healthz", serve_env(built.settings)):
        yield base


@pytest.fixture(scope="module")
def activities(built: Built) -> pd.DataFrame:
    return LayerSet.open(built.settings.layers, "public").frames["activities"]


def _items(server: str, **params: Any) -> dict[str, Any]:
    response = httpx.get(
        f"{server}/collections/activities/items", params={"limit": 10000, **params}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _ids(body: dict[str, Any]) -> set[str]:
    return {f["id"] for f in body["features"]}


def _problem(response: httpx.Response, parameter: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["parameter"] == parameter
    return body


def _occurs(rule: object, day: date) -> bool:
    if not isinstance(rule, str) or not rule:
        return False
    parsed = rrulestr(f"RRULE:{rule}", dtstart=datetime(2024, 4, 1))
    start = datetime.combine(day, datetime.min.time())
    return bool(parsed.between(start, start + timedelta(days=1, seconds=-1), inc=True))


def test_open_on_keeps_the_activities_whose_rule_has_that_day(
    server: str, activities: pd.DataFrame
) -> None:
    body = _items(server, open_on=SECOND_SATURDAY.isoformat())
    expected = {
        str(i)
        for i, r in zip(activities["id"], activities["rrule"], strict=True)
        if _occurs(r, SECOND_SATURDAY)
    }
    assert _ids(body) == expected and body["numberMatched"] == len(expected)
    assert public_id_of("zz-muni-1") in expected
    # Every one of them meets on a Saturday: weekly SA, or a monthly 2SA (2・4 included).
    for feature in body["features"]:
        assert "SA" in feature["properties"]["rrule"], feature["properties"]["rrule"]


def test_a_second_saturday_activity_is_not_open_on_the_third(server: str) -> None:
    assert public_id_of("zz-muni-1") not in _ids(_items(server, open_on=THIRD_SATURDAY.isoformat()))


def test_open_on_combines_with_the_other_filters(server: str, activities: pd.DataFrame) -> None:
    both = _ids(_items(server, open_on=SECOND_SATURDAY.isoformat(), language="ne"))
    assert both == _ids(_items(server, open_on=SECOND_SATURDAY.isoformat())) & _ids(
        _items(server, language="ne")
    )
    assert public_id_of("zz-muni-1") in both


@pytest.mark.parametrize(
    "value", ["2026-13-01", "2026/12/05", "tomorrow", "2026-12-5", "9999-12-31", "1999-12-31"]
)
def test_a_bad_open_on_is_a_400_naming_the_parameter(server: str, value: str) -> None:
    response = httpx.get(f"{server}/collections/activities/items", params={"open_on": value})
    body = _problem(response, "open_on")
    assert "YYYY-MM-DD" in body["detail"] or "2099-12-31" in body["detail"]


def test_age_keeps_what_accepts_that_age_and_missing_bounds_are_no_limit(
    server: str, activities: pd.DataFrame
) -> None:
    def accepts(low: object, high: object, age: int) -> bool:
        return (pd.isna(low) or int(low) <= age) and (pd.isna(high) or age <= int(high))  # type: ignore[call-overload]

    for age in (15, 19, 70):
        body = _items(server, age=age)
        expected = {
            str(i)
            for i, lo, hi in zip(
                activities["id"], activities["minimum_age"], activities["maximum_age"], strict=True
            )
            if accepts(lo, hi, age)
        }
        assert _ids(body) == expected, age
    assert public_id_of("zz-muni-1") in _ids(_items(server, age=15))
    assert public_id_of("zz-muni-1") not in _ids(_items(server, age=19))
    # Some activities state no age at all: they accept a 70-year-old and a 15-year-old alike.
    unbounded = activities["minimum_age"].isna() & activities["maximum_age"].isna()
    assert unbounded.any()


@pytest.mark.parametrize("value", ["-1", "121", "fifteen"])
def test_a_bad_age_is_a_400_naming_the_parameter(server: str, value: str) -> None:
    _problem(httpx.get(f"{server}/collections/activities/items", params={"age": value}), "age")


def test_language_keeps_the_activities_listing_it(server: str, activities: pd.DataFrame) -> None:
    body = _items(server, language="en")
    expected = {
        str(i)
        for i, langs in zip(activities["id"], activities["languages"], strict=True)
        if "en" in list(langs)
    }
    assert expected and _ids(body) == expected


def test_an_unknown_language_is_a_400_listing_the_tags(server: str) -> None:
    response = httpx.get(f"{server}/collections/activities/items", params={"language": "xx"})
    body = _problem(response, "language")
    assert "zh-Hans" in body["allowed"]


def test_open_on_and_age_are_refused_on_collections_without_a_schedule(server: str) -> None:
    for param, value in (("open_on", "2026-12-12"), ("age", "15")):
        response = httpx.get(f"{server}/collections/municipalities/items", params={param: value})
        assert response.status_code == 400
        assert param in response.json()["detail"]


def test_the_calendar_gives_each_activity_its_open_days(server: str) -> None:
    response = httpx.get(
        f"{server}/collections/activities/calendar", params={"start": "2026-12-01", "days": 62}
    )
    assert response.status_code == 200 and response.headers["etag"]
    calendar = response.json()
    assert (calendar["start"], calendar["days"]) == ("2026-12-01", 62)
    # 第2土曜: 12 December and 9 January.
    assert calendar["open"][public_id_of("zz-muni-1")] == [11, 39]
    # What the calendar says for a day is what open_on answers for it.
    day = 11
    on_day = {i for i, offsets in calendar["open"].items() if day in offsets}
    assert on_day == _ids(_items(server, open_on="2026-12-12"))


def test_the_calendar_starts_today_in_japan_by_default(server: str) -> None:
    from tsunagari_geo.text import JST

    calendar = httpx.get(f"{server}/collections/activities/calendar").json()
    assert calendar["start"] == datetime.now(JST).date().isoformat()
    assert calendar["days"] == 92


def test_a_bad_calendar_start_is_a_400(server: str) -> None:
    response = httpx.get(f"{server}/collections/activities/calendar", params={"start": "12/01"})
    _problem(response, "start")


def test_the_api_document_describes_the_new_parameters(server: str) -> None:
    document = httpx.get(f"{server}/api").json()
    items = document["paths"]["/collections/activities/items"]["get"]["parameters"]
    names = {p["name"] for p in items}
    assert {"open_on", "age", "language"} <= names
    others = document["paths"]["/collections/municipalities/items"]["get"]["parameters"]
    assert not {"open_on", "age", "language"} & {p["name"] for p in others}
    assert "/collections/activities/calendar" in document["paths"]
