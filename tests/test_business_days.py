"""開庁日: weekends, national holidays (振替休日 included), 年末年始 12/29–1/3 and an organisation's
own closure days are skipped when a deadline is counted."""

from __future__ import annotations

import datetime as dt

import pytest

from vendorrisk.domain.business_days import OfficeCalendar, national_holiday, weekday_ja

D = dt.date


def test_year_end_closure_and_new_year_are_skipped():
    cal = OfficeCalendar()
    # 令和8年12月25日（金） + 3 開庁日: 28（月）, then 29–1/3 closed, then 1/4（月）, 1/5（火）.
    assert cal.add_open_days(D(2026, 12, 25), 3) == D(2027, 1, 5)
    assert cal.closed_because(D(2026, 12, 29)) == "年末年始の休日"
    assert cal.closed_because(D(2027, 1, 1)) == "祝日（元日）"
    assert cal.closed_because(D(2027, 1, 2)) == "土曜日"
    assert cal.closed_because(D(2027, 1, 3)) == "日曜日"
    assert cal.is_open(D(2027, 1, 4))
    assert cal.open_days_between(D(2026, 12, 25), D(2027, 1, 5)) == 3


def test_substitute_holiday_counts_as_closed():
    cal = OfficeCalendar()
    # 2027-03-21 春分の日 is a Sunday: Monday 22 is a 振替休日.
    assert national_holiday(D(2027, 3, 22)) == "振替休日"
    assert not cal.is_open(D(2027, 3, 22))
    assert cal.add_open_days(D(2027, 3, 19), 1) == D(2027, 3, 23)
    # Golden week 2026: 5/3 (Sun) → 5/6 振替休日.
    assert cal.add_open_days(D(2026, 5, 1), 1) == D(2026, 5, 7)
    # 国民の休日 (a day between two holidays): 2026-09-22.
    assert not cal.is_open(D(2026, 9, 22))


def test_organisation_closure_days_and_backwards_counting():
    cal = OfficeCalendar.of(["2026-12-18"])
    assert cal.closed_because(D(2026, 12, 18)) == "閉庁日"
    assert cal.add_open_days(D(2026, 12, 17), 1) == D(2026, 12, 21)
    # Reminders "N 開庁日 before the deadline" count backwards.
    assert cal.add_open_days(D(2027, 1, 5), -3) == D(2026, 12, 25)
    assert cal.next_open_day(D(2026, 12, 29)) == D(2027, 1, 4)
    assert weekday_ja(D(2026, 12, 15)) == "火"


def test_absurd_counts_are_refused_with_a_message():
    with pytest.raises(ValueError, match="開庁日の数"):
        OfficeCalendar().add_open_days(D(2026, 1, 5), 10**6)
