"""The pages' languages: one catalogue, complete in English and (for the public map) in
やさしい日本語, chosen by ``?lang=``, the switch's cookie or Accept-Language.

The catalogue is checked against the sources (``pybabel extract`` run now must give the
committed ``messages.pot``), every translation keeps its placeholders, and the English map page,
rendered by the real FastAPI app, has no Japanese left outside member data and the official
source titles: place names come from the registry's ``name_en``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup

from i18n_helpers import JAPANESE, japanese_left
from test_layers_fixtures import Built, build_deployment
from tsunagari_api.factory import create_app
from tsunagari_geo.maps.data import translated_vocabulary, vocabulary
from tsunagari_geo.maps.i18n import (
    COOKIE,
    LOCALE_DIR,
    MAP_SOURCES,
    choose_language,
    gettext_for,
    po_path,
)
from tsunagari_geo.region import load_region

with __import__("warnings").catch_warnings():
    __import__("warnings").simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "src" / "tsunagari_geo" / "maps" / "static" / "maps"
PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")
SAITAMA = load_region("saitama")


def _po(lang: str) -> dict[str, str]:
    with po_path(lang).open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id}


def _pot() -> Any:
    with (LOCALE_DIR / "messages.pot").open("rb") as handle:
        return read_po(handle)


def test_the_catalogue_holds_every_message_the_sources_use(tmp_path: Path) -> None:
    out = tmp_path / "messages.pot"
    subprocess.run(
        [Path(sys.executable).parent / "pybabel", "extract", "-F", "babel.cfg", "-o", out, "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    with out.open("rb") as handle:
        extracted = {str(m.id) for m in read_po(handle) if m.id}
    committed = {str(m.id) for m in _pot() if m.id}
    assert extracted == committed, "run `make messages` and translate the new messages"


@pytest.mark.parametrize("lang", ["en", "easy"])
def test_each_language_file_has_exactly_the_catalogues_messages(lang: str) -> None:
    assert set(_po(lang)) == {str(m.id) for m in _pot() if m.id}


def test_every_message_has_its_english() -> None:
    missing = [msgid for msgid, text in _po("en").items() if not text.strip()]
    assert missing == []


def test_english_is_english() -> None:
    # Examples of Japanese input (a place to type into the search) may keep Japanese.
    japanese = [
        (msgid, text)
        for msgid, text in _po("en").items()
        if JAPANESE.search(text) and not text.startswith("e.g.")
    ]
    assert japanese == []


def _map_messages() -> set[str]:
    """What the public map shows: messages of its templates and scripts, and the labels of
    the vocabulary it embeds (themes, life stages, formats, the geocoder's statuses …)."""
    ids = set()
    for message in _pot():
        if message.id and any(
            any(source in path for source in MAP_SOURCES[:5]) for path, _ in message.locations
        ):
            ids.add(str(message.id))
    # The census denominators ride along in the vocabulary, but only the dashboard shows them.
    vocab = {k: v for k, v in vocabulary(SAITAMA).items() if k != "denominators"}
    seen: list[str] = []
    translated_vocabulary(vocab, lambda text: seen.append(text) or text, SAITAMA)
    return ids | set(seen) | {SAITAMA.titles["platform"]}


def test_the_map_is_complete_in_easy_japanese() -> None:
    easy = _po("easy")
    map_ids = _map_messages()
    assert len(map_ids) > 100
    assert [msgid for msgid in sorted(map_ids) if not easy.get(msgid, "").strip()] == []


@pytest.mark.parametrize("lang", ["en", "easy"])
def test_translations_keep_every_placeholder(lang: str) -> None:
    broken = [
        (msgid, text)
        for msgid, text in _po(lang).items()
        if text and sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(text))
    ]
    assert broken == []


def test_no_page_script_writes_japanese_outside_the_catalogue() -> None:
    """Every Japanese string literal in the page scripts is a message id inside ``_()``."""
    literal = re.compile(r"(?<![\w.])(_\(\s*)?'((?:[^'\\\n]|\\.)*)'")
    found = []
    for script in sorted(STATIC.glob("*.js")):
        for number, line in enumerate(script.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("//")[0] if "'" not in line.split("//")[-1] else line
            if code.lstrip().startswith(("*", "/*")):
                continue
            for match in literal.finditer(code):
                if JAPANESE.search(match.group(2)) and not match.group(1):
                    found.append(f"{script.name}:{number}: {match.group(2)}")
    assert found == []


def test_a_missing_translation_reads_as_japanese_never_as_a_key() -> None:
    assert gettext_for("en")("検索") == "Search"
    assert gettext_for("en")("まだ訳のない文") == "まだ訳のない文"
    assert gettext_for("ja")("検索") == "検索"
    assert gettext_for("xx")("検索") == "検索"


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        (None, None, None, "ja"),
        (None, None, "en-US,en;q=0.9", "en"),
        (None, None, "en-GB", "en"),
        (None, None, "fr-FR,fr;q=0.9,en;q=0.5", "en"),
        (None, None, "ko-KR,ja;q=0.8,en;q=0.5", "ja"),
        (None, None, "zh-CN", "ja"),
        (None, "en", "ja", "en"),
        ("easy", "en", "en", "easy"),
        ("EN", None, None, "en"),
        ("xx", None, "en", "en"),
        (None, "garbage", None, "ja"),
    ],
)
def test_the_language_is_the_query_then_the_cookie_then_the_browser(
    query: str | None, cookie: str | None, accept: str | None, expected: str
) -> None:
    assert choose_language(query=query, cookie=cookie, accept_language=accept) == expected


# --- the pages over HTTP, from the real app --------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Built:
    return build_deployment(tmp_path_factory.mktemp("i18n"), store_path)


@pytest.fixture(scope="module")
def client(built: Built) -> Iterator[TestClient]:
    with TestClient(create_app(built.settings)) as c:
        yield c


def _page(response: Any) -> BeautifulSoup:
    assert response.status_code == 200
    return BeautifulSoup(response.text, "html.parser")


def test_a_browser_asking_for_english_gets_the_map_in_english(client: TestClient) -> None:
    soup = _page(client.get("/map", headers={"Accept-Language": "en-US,en;q=0.9"}))
    assert soup.html["lang"] == "en"
    assert soup.title.string.startswith("Tsunagari Map")
    assert soup.select_one("#tg-search button[type=submit]").get_text() == "Search"
    current = soup.select(".tg-languages a[aria-current]")
    assert [a.get_text() for a in current] == ["English"]


def test_without_a_preference_the_map_is_japanese(client: TestClient) -> None:
    soup = _page(client.get("/map"))
    assert soup.html["lang"] == "ja"
    assert soup.select_one("#tg-search button[type=submit]").get_text() == "検索"
    assert [a.get_text() for a in soup.select(".tg-languages a")] == [
        "日本語",
        "English",
        "やさしい にほんご",
    ]
    assert [a["lang"] for a in soup.select(".tg-languages a")] == ["ja", "en", "ja"]


def test_the_switch_sets_a_cookie_that_keeps_the_language_on_the_next_page(
    built: Built,
) -> None:
    with TestClient(create_app(built.settings)) as fresh:
        response = fresh.get("/map?lang=easy", headers={"Accept-Language": "en"})
        assert response.cookies.get(COOKIE) == "easy"
        soup = _page(response)
        assert soup.html["lang"] == "ja"  # やさしい日本語 is Japanese to a screen reader
        assert soup.select_one("#tg-search button[type=submit]").get_text() == "さがす"
        # The next page, without ?lang=, follows the cookie rather than Accept-Language.
        dashboard = _page(fresh.get("/dashboard", headers={"Accept-Language": "en"}))
        assert dashboard.select(".tg-languages a[aria-current]")[0]["data-lang"] == "easy"
        fresh.cookies.set(COOKIE, "en")
        municipality = _page(fresh.get("/dashboard/11201"))
        assert municipality.html["lang"] == "en"
        assert "Indicators" in municipality.get_text()


def test_pages_vary_on_the_language_and_are_cached_per_language(client: TestClient) -> None:
    for path in ("/map", "/dashboard", "/dashboard/11201"):
        ja = client.get(path)
        en = client.get(path, headers={"Accept-Language": "en"})
        for response in (ja, en):
            vary = {v.strip().lower() for v in response.headers["vary"].split(",")}
            assert {"accept-language", "cookie"} <= vary
        assert ja.text != en.text
        assert client.get(path).text == ja.text  # the cache did not hand out the English page
    assert COOKIE not in client.get("/map?lang=xx").cookies


def _config(soup: BeautifulSoup) -> dict[str, Any]:
    for script in soup.find_all("script"):
        text = script.string or ""
        match = re.search(r"Tsunagari\.startMap\([^,]+, (\{.*\})\);", text, re.S)
        if match:
            return dict(json.loads(match.group(1)))
    raise AssertionError("no map configuration in the page")


def test_the_english_map_has_no_japanese_outside_member_data_and_place_names(
    client: TestClient,
) -> None:
    soup = _page(client.get("/map?lang=en"))
    config = _config(soup)
    # What stays as written: the official source titles (attribution), the other languages'
    # own names in the switch, and the example address in the search box (addresses are typed
    # in Japanese). Place names are English (the registry's name_en).
    for kept in soup.select(".tg-attribution li, .tg-languages a"):
        kept.decompose()
    for script in soup.find_all(["script", "style"]):
        script.decompose()
    left = [t.strip() for t in soup.find_all(string=True) if JAPANESE.search(t)]
    attributes = [
        f"{tag.name}[{name}]={tag[name]}"
        for tag in soup.find_all(True)
        for name in ("aria-label", "title", "alt")
        if tag.has_attr(name) and JAPANESE.search(str(tag[name]))
    ]
    assert left == [] and attributes == []
    # The scripts' messages and the vocabulary the page embeds are English too.
    assert config["lang"] == "en" and len(config["messages"]) > 40
    assert [m for m in config["messages"].values() if JAPANESE.search(m)] == []
    vocab = config["vocab"]
    for table in ("themes", "life_stages", "circumstances", "formats", "channels"):
        assert [v for v in vocab[table].values() if JAPANESE.search(v)] == [], table
    assert [v for v in vocab["privacy_notes"].values() if JAPANESE.search(v.split("(")[0])] == []
    assert vocab["status_labels"]["outside_prefecture"] == "Address outside Saitama Prefecture"
    assert set(vocab["theme_marks"].values()) == set("BCPSYHODFERNA")


def test_the_easy_map_says_its_words_in_easy_japanese(client: TestClient) -> None:
    soup = _page(client.get("/map?lang=easy"))
    config = _config(soup)
    assert soup.select_one("#tg-panel-toggle").get_text() == "さがす"
    assert "ぜんぶ" in [o.get_text() for o in soup.select("#tg-theme option")]
    assert config["vocab"]["themes"]["ibasho"] == "いばしょ（あつまれる ところ）"
    assert config["messages"]["検索中…"] == "さがして います…"


def test_the_planners_pages_in_easy_japanese_say_they_are_in_japanese(client: TestClient) -> None:
    for path in ("/dashboard?lang=easy", "/dashboard/11201?lang=easy"):
        soup = _page(client.get(path))
        assert soup.select_one("#tg-language-note") is not None, path
    for path in ("/dashboard?lang=en", "/dashboard?lang=ja", "/map?lang=easy"):
        assert _page(client.get(path)).select_one("#tg-language-note") is None, path


@pytest.mark.parametrize("path", ["/map", "/dashboard", "/dashboard/11201"])
def test_the_english_pages_have_no_japanese_outside_member_data(
    client: TestClient, path: str
) -> None:
    response = client.get(f"{path}?lang=en")
    assert response.status_code == 200
    assert japanese_left(response.text) == []


def test_english_pages_name_places_in_english_and_easy_pages_in_japanese(
    client: TestClient,
) -> None:
    soup = _page(client.get("/map?lang=en"))
    assert soup.select_one("#tg-muni option[value='11201']").get_text() == "Kawagoe"
    assert _config(soup)["vocab"]["municipalities"]["11341"] == "Namegawa"
    page = _page(client.get("/dashboard/11201?lang=en"))
    assert page.h1.get_text() == "Kawagoe"
    assert page.title.get_text().startswith("Kawagoe")
    easy = _page(client.get("/map?lang=easy"))
    assert easy.select_one("#tg-muni option[value='11201']").get_text() == "川越市"
