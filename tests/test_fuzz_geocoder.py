"""Property tests (hypothesis) of the address normaliser and the geocoder.

On arbitrary text and on address-like text built from the real dictionary (town and
municipality names, random block numbers, every dash and width variant, junk before and after)
the normaliser and the geocoder must never raise, normalisation must be idempotent, the result
must be deterministic, and the fields of a result must always agree with its ``level``.

In CI (``CI`` set in the environment) the ``ci`` profile derandomises the examples, so a
failure reproduces; locally each run explores new examples.
"""

from __future__ import annotations

import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsunagari_geo.geocode import Geocoder
from tsunagari_geo.geocode.core import REASONS, GeocodeResult
from tsunagari_geo.region import load_region
from tsunagari_geo.store import Store
from tsunagari_geo.text import DASHES, normalize_address

settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROFILE = settings.get_profile("ci" if os.environ.get("CI") else "dev")
#: Examples per property: the whole file stays well under a minute on two shared cores.
#: Set TSUNAGARI_FUZZ_EXAMPLES=5000 for a longer local hunt.
EXAMPLES = int(os.environ.get("TSUNAGARI_FUZZ_EXAMPLES", "400"))

STATUSES = {"matched", "partial", "ambiguous", "outside_prefecture", "empty", "unmatched"}
#: Saitama with a margin: every point the geocoder returns is a representative point inside it.
SAITAMA_BBOX = (138.6, 35.7, 140.0, 36.4)


@pytest.fixture(scope="module")
def geocoder(store: Store) -> Geocoder:
    return Geocoder.from_store(store)


@pytest.fixture(scope="module")
def unit_codes(store: Store) -> frozenset[str]:
    # The 72 units; さいたま市 as a whole (11100) when the ward cannot be decided.
    return frozenset(store.units["code"]) | frozenset(store.region.designated_city_codes)


# --- strategies ---------------------------------------------------------------------------------

_REGION = load_region("saitama")
_REGISTRY = _REGION.registry
#: Characters that matter to the parser, so random text hits its branches, not only noise.
_ADDRESS_CHARS = (
    "埼玉県東京都さいたま市浦和区大宮川口越谷所沢郡町村大字字丁目番地号の之ノヶケが"
    "一二三四五六七八九十百千〇0123456789０１２３４５６７８９〒日本 　()（）[]・,、" + DASHES
)
_WEIRD = ["\u200b", "\u200e", "\u202e", "\u2066", "\ufeff", "\x00", "\t", "\r", "\n", "\u3000"]

arbitrary_text = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.sampled_from(_ADDRESS_CHARS), max_size=60),
    st.text(alphabet=st.sampled_from([*_ADDRESS_CHARS, *_WEIRD]), max_size=40),
)


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@st.composite
def address_like(draw: st.DrawFn, towns: list[tuple[str, str]]) -> str:
    """A real town of a real unit, written the many ways members write addresses."""
    code, town = draw(st.sampled_from(towns))
    muni = _REGISTRY.by_code[code]
    city = draw(
        st.sampled_from(
            [
                muni.name,
                muni.full_name,
                f"さいたま市{muni.name.removeprefix('さいたま市')}",
                muni.name.removeprefix("さいたま市"),
                "",
            ]
        )
    )
    if draw(st.booleans()):
        town = town.removeprefix("大字")
    numbers = draw(st.lists(st.integers(min_value=0, max_value=9999), min_size=0, max_size=4))
    dash = draw(st.sampled_from([*DASHES, "番地", "番", "号", "の", " ", ""]))
    block = dash.join(str(n) for n in numbers)
    if draw(st.booleans()):
        block = _full_width(block)
    # Prefixes a member pastes, sometimes twice (a postal code column glued to an address
    # that already starts with one).
    prefix = st.sampled_from(["", "〒330-0061 ", "330ー0061", "郵便番号:3300061", "日本", "日本 "])
    pref = "".join(draw(st.lists(prefix, max_size=2)))
    pref += draw(st.sampled_from(["", "埼玉県", "埼玉", "東京都"]))
    junk = st.text(alphabet=st.sampled_from(_ADDRESS_CHARS + "".join(_WEIRD)), max_size=8)
    before, after = draw(junk), draw(junk)
    glue = draw(st.sampled_from(["", " ", "　"]))
    return f"{before}{pref}{glue}{city}{glue}{town}{block}{after}"


@pytest.fixture(scope="module")
def towns(store: Store) -> list[tuple[str, str]]:
    return [(str(c), str(t)) for c, t in store.towns[["unit_code", "town"]].to_numpy()]


# --- invariants ---------------------------------------------------------------------------------


def _check_consistent(result: GeocodeResult, codes: frozenset[str]) -> None:
    """The fields of one result agree with its level and status (see the core docstring)."""
    assert result.status in STATUSES, result
    assert 0 <= result.level <= 3, result
    for code in filter(None, result.reason.split(",")):
        assert code.split(":", 1)[0] in REASONS, (code, result)
    has_point = result.lat is not None or result.lng is not None
    if result.level == 0:
        assert not (result.pref or result.city or result.muni_code or result.town), result
        assert not has_point, result
    elif result.level == 1:
        assert not (result.city or result.muni_code or result.town), result
        assert not has_point, result
        # The prefecture is named, except for a pref-less name used in several prefectures,
        # where the prefectures it could be are the candidates.
        assert result.pref or (result.status == "outside_prefecture" and result.candidates)
    else:
        assert result.pref == "埼玉県", result
        assert result.city and result.muni_code in codes, result
        assert result.lat is not None and result.lng is not None, result
        assert math.isfinite(result.lat) and math.isfinite(result.lng)
        west, south, east, north = SAITAMA_BBOX
        assert west <= result.lng <= east and south <= result.lat <= north, result
        assert bool(result.town) == (result.level == 3), result
    # Town found is matched, and matched means a town: partial/ambiguous stop at level 2.
    assert (result.status == "matched") == (result.level == 3), result
    if result.status == "empty":
        assert result.normalized == "" and result.level == 0
    if result.status == "outside_prefecture":
        assert result.level <= 1 and result.pref != "埼玉県"
    if result.candidates:
        assert result.status == "ambiguous" or (
            result.status == "outside_prefecture" and not result.pref
        ), result
    if result.status == "ambiguous":
        assert len(result.candidates) >= 2, result
    if result.suggestions:
        assert result.status in ("partial", "unmatched") and result.level < 3, result


# --- properties ---------------------------------------------------------------------------------


@settings(PROFILE, max_examples=EXAMPLES)
@given(text=arbitrary_text)
def test_normalisation_never_raises_and_is_idempotent(text: str) -> None:
    once = normalize_address(text)
    assert normalize_address(once) == once


@settings(PROFILE, max_examples=EXAMPLES)
@given(data=st.data())
def test_normalisation_of_address_like_text_is_idempotent(
    data: st.DataObject, towns: list[tuple[str, str]]
) -> None:
    once = normalize_address(data.draw(address_like(towns)))
    assert normalize_address(once) == once


@settings(PROFILE, max_examples=EXAMPLES)
@given(text=arbitrary_text)
def test_geocoding_arbitrary_text_never_raises_and_is_consistent(
    text: str, geocoder: Geocoder, unit_codes: frozenset[str]
) -> None:
    result = geocoder.geocode(text)
    _check_consistent(result, unit_codes)
    assert result.input == text
    assert result.to_dict() == geocoder.geocode(text).to_dict()


@settings(PROFILE, max_examples=EXAMPLES)
@given(data=st.data())
def test_geocoding_address_like_text_is_consistent_and_deterministic(
    data: st.DataObject,
    towns: list[tuple[str, str]],
    geocoder: Geocoder,
    unit_codes: frozenset[str],
) -> None:
    text = data.draw(address_like(towns))
    result = geocoder.geocode(text)
    _check_consistent(result, unit_codes)
    assert result.to_dict() == geocoder.geocode(text).to_dict()
    # What was normalised reads the same: the geocoder works on the normal form.
    again = geocoder.geocode(result.normalized)
    assert {k: v for k, v in again.to_dict().items() if k != "input"} == {
        k: v for k, v in result.to_dict().items() if k != "input"
    }


@settings(PROFILE, max_examples=EXAMPLES // 2)
@given(data=st.data(), context=arbitrary_text)
def test_geocoding_with_any_context_is_consistent(
    data: st.DataObject,
    context: str,
    towns: list[tuple[str, str]],
    geocoder: Geocoder,
    unit_codes: frozenset[str],
) -> None:
    text = data.draw(st.one_of(address_like(towns), arbitrary_text))
    result = geocoder.geocode(text, context)
    _check_consistent(result, unit_codes)
    assert result.to_dict() == geocoder.geocode(text, context).to_dict()


@settings(PROFILE, max_examples=60)
@given(n=st.integers(min_value=1_000, max_value=100_000), data=st.data())
def test_very_long_text_is_geocoded_without_error(
    n: int, data: st.DataObject, towns: list[tuple[str, str]], geocoder: Geocoder
) -> None:
    head = data.draw(address_like(towns))
    filler = data.draw(st.sampled_from(["1-", "あ", " ", "－", "丁目", "〒"]))
    text = head + filler * (n // len(filler))
    result = geocoder.geocode(text)
    _check_consistent(result, frozenset(_REGISTRY.by_code) | set(_REGION.designated_city_codes))
