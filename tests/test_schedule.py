"""When an activity is open (its RFC 5545 rule, in Japan's calendar) and whom it accepts."""

from __future__ import annotations

from datetime import date

import pytest

from tsunagari_geo.activities.contact import normalise_phone, tel_uri
from tsunagari_geo.activities.schedule import (
    accepts_age,
    check_day,
    is_open_on,
    normalise_rrule,
    open_dates,
    open_days,
    parse_time,
)


def test_a_second_saturday_rule_is_open_on_each_month_s_second_saturday() -> None:
    days = open_dates("FREQ=MONTHLY;BYDAY=2SA", date(2026, 12, 1), 92)
    assert days == [date(2026, 12, 12), date(2027, 1, 9), date(2027, 2, 13)]


def test_second_and_fourth_tuesdays() -> None:
    days = open_dates("FREQ=MONTHLY;BYDAY=2TU,4TU", date(2027, 3, 1), 31)
    assert days == [date(2027, 3, 9), date(2027, 3, 23)]


def test_a_fortnightly_rule_keeps_its_own_start() -> None:
    rule = "DTSTART:20250405 FREQ=WEEKLY;INTERVAL=2;BYDAY=SA"
    assert open_dates(rule, date(2026, 12, 1), 31) == [date(2026, 12, 12), date(2026, 12, 26)]
    assert not is_open_on(rule, date(2026, 12, 19))


def test_until_ends_a_rule() -> None:
    rule = "FREQ=WEEKLY;BYDAY=WE;UNTIL=20261216"
    assert open_dates(rule, date(2026, 12, 1), 31) == [
        date(2026, 12, 2),
        date(2026, 12, 9),
        date(2026, 12, 16),
    ]


def test_days_are_calendar_days_without_a_daylight_saving_shift() -> None:
    # Every Sunday of a whole year, including the weeks other countries change their clocks.
    sundays = open_dates("FREQ=WEEKLY;BYDAY=SU", date(2027, 1, 1), 365)
    assert len(sundays) == 52 and all(d.weekday() == 6 for d in sundays)
    assert date(2027, 3, 14) in sundays and date(2027, 10, 31) in sundays


def test_an_activity_without_a_rule_is_never_open() -> None:
    assert open_dates(None, date(2026, 12, 1), 31) == []
    assert not is_open_on("", date(2026, 12, 1))


def test_the_calendar_lists_open_days_as_offsets_and_leaves_out_rules_without_any() -> None:
    calendar = open_days(
        [
            {"id": "a", "rrule": "FREQ=MONTHLY;BYDAY=2SA"},
            {"id": "b", "rrule": "FREQ=WEEKLY;BYDAY=WE;UNTIL=20240501"},
            {"id": "c", "rrule": None},
        ],
        date(2026, 12, 1),
        62,
    )
    assert calendar == {"start": "2026-12-01", "days": 62, "open": {"a": [11, 39]}}


@pytest.mark.parametrize("text", ["FREQ=SOMETIMES", "毎週火曜", "FREQ=WEEKLY;BYDAY=XX"])
def test_a_cell_that_is_no_rule_is_refused_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match="RRULE"):
        normalise_rrule(text)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("FREQ=MINUTELY", "DAILY"),
        ("FREQ=HOURLY;BYDAY=MO", "DAILY"),
        ("DTSTART:18000101 FREQ=DAILY", "DTSTART"),
    ],
)
def test_rules_that_would_walk_without_end_are_refused(text: str, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        normalise_rrule(text)


def test_days_outside_the_schedule_range_are_refused() -> None:
    assert check_day(date(2026, 12, 1)) == date(2026, 12, 1)
    with pytest.raises(ValueError, match="2099-12-31"):
        check_day(date(9999, 12, 31))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("9:30", "09:30"), ("１０：００", "10:00"), ("13時", "13:00"), ("24:00", "24:00")],
)
def test_times_are_read_as_hh_mm(text: str, expected: str) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "10:60", "24:30", "noon"])
def test_a_time_that_is_no_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_time(text)


def test_missing_age_bounds_are_no_limit() -> None:
    assert accepts_age(None, None, 15)
    assert accepts_age(13, 18, 15) and not accepts_age(16, 18, 15)
    assert accepts_age(None, 18, 15) and not accepts_age(None, 14, 15)
    assert accepts_age(15, None, 15) and not accepts_age(65, None, 15)


@pytest.mark.parametrize(
    ("written", "normal", "uri"),
    [
        ("048-555-0123", "048-555-0123", "tel:0485550123"),
        ("048(555)0123", "048-555-0123", "tel:0485550123"),
        ("０９０－１２３４－５６７８", "090-1234-5678", "tel:09012345678"),
        ("09012345678", "090-1234-5678", "tel:09012345678"),
        ("0120000123", "0120-000-123", "tel:0120000123"),
        ("08001234567", "0800-123-4567", "tel:08001234567"),
        ("#7119", "#7119", "tel:%237119"),
        ("189", "189", "tel:189"),
    ],
)
def test_phone_numbers_are_written_with_hyphens_and_dialled_as_in_japan(
    written: str, normal: str, uri: str
) -> None:
    assert normalise_phone(written) == normal
    assert tel_uri(normal) == uri


@pytest.mark.parametrize("written", ["0485550123", "03-1234-567", "00-1234-5678", "12345", "tel"])
def test_a_number_that_cannot_be_written_safely_is_refused(written: str) -> None:
    with pytest.raises(ValueError, match="電話番号"):
        normalise_phone(written)
