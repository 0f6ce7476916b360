"""Yes/no cells and coordinate columns: the one parser and the one detector."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsunagari_geo.cells import (
    coordinate_columns,
    parse_yes_no,
    yes_no_column,
)
from tsunagari_geo.errors import InputError


@pytest.mark.parametrize(
    "text",
    ["true", "TRUE", "yes", "Y", "1", "はい", "○", "〇", "公開", "ｔｒｕｅ", "１", " yes "],
)
def test_documented_yes_spellings_are_yes(text: str) -> None:
    assert parse_yes_no(text) is True


@pytest.mark.parametrize(
    "text", ["false", "No", "n", "0", "いいえ", "×", "非公開", "ＦＡＬＳＥ", "０"]
)
def test_documented_no_spellings_are_no(text: str) -> None:
    assert parse_yes_no(text) is False


@pytest.mark.parametrize("value", ["", "  ", None, float("nan"), pd.NA])
def test_an_empty_cell_is_neither(value: object) -> None:
    assert parse_yes_no(value) is None


def test_booleans_and_zero_one_numbers_pass() -> None:
    assert [parse_yes_no(v) for v in (True, False, np.bool_(True), 1, 0, 1.0)] == [
        True,
        False,
        True,
        True,
        False,
        True,
    ]


@pytest.mark.parametrize("value", ["maybe", "on", "t", "2", "済", 2, -1.0])
def test_an_unknown_value_is_an_error_never_true_or_false(value: object) -> None:
    with pytest.raises(ValueError, match="はい/いいえ"):
        parse_yes_no(value)


def test_a_column_error_names_file_row_column_and_value() -> None:
    frame = pd.DataFrame({"published": ["はい", "", "たぶん"]})
    with pytest.raises(InputError) as info:
        yes_no_column(frame, "published", default=True, path="acts.csv")
    error = info.value
    assert (error.path, error.row, error.column, error.value) == (
        "acts.csv",
        4,
        "published",
        "たぶん",
    )


def test_a_column_fills_empty_cells_and_a_missing_column_with_the_default() -> None:
    frame = pd.DataFrame({"published": ["いいえ", None, "○"]})
    assert yes_no_column(frame, "published", default=True).tolist() == [False, True, True]
    assert yes_no_column(frame, "absent", default=False).tolist() == [False, False, False]


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["name", "lat", "lng"], ("lng", "lat")),
        (["Lat", "Lon"], ("Lon", "Lat")),
        (["緯度", "経度", "住所"], ("経度", "緯度")),
        (["ＬＡＴ", "ＬＮＧ"], ("ＬＮＧ", "ＬＡＴ")),
        (["latitude", "longitude"], ("longitude", "latitude")),
        (["x", "y"], ("x", "y")),
        (["lng", "lon", "lat"], ("lng", "lat")),
    ],
)
def test_coordinate_columns_are_found_by_one_list_of_pairs(
    columns: list[str], expected: tuple[str, str]
) -> None:
    assert coordinate_columns(columns) == expected


@pytest.mark.parametrize("columns", [["lat"], ["lng", "緯度"], ["address"], []])
def test_no_pair_no_coordinates(columns: list[str]) -> None:
    assert coordinate_columns(columns) is None
