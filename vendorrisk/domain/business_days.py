"""開庁日 (the days a municipal office is open), counted as the municipality counts them.

Closed: Saturdays, Sundays, national holidays (振替休日 and 国民の休日 included, from the maintained
`holidays` library, never a hand list), the year-end closure 12/29–1/3 (地方自治法第4条の2, as every
municipality's 休日条例 has it), and the organisation's own closure days. Pure Python: no Flask, no DB.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import holidays

from .wareki import WEEKDAYS_JA

MAX_SPAN = 3660  # ten years of days: a count beyond this is a typo, not a deadline


@lru_cache(maxsize=64)
def _national(year: int) -> dict[dt.date, str]:
    return dict(holidays.Japan(years=year, language="ja"))


def national_holiday(day: dt.date) -> str | None:
    return _national(day.year).get(day)


def is_year_end_closure(day: dt.date) -> bool:
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


@dataclass(frozen=True)
class OfficeCalendar:
    """One organisation's calendar: the national rules plus its own closure days."""

    closures: frozenset[dt.date] = field(default_factory=frozenset)

    @classmethod
    def of(cls, closures: Iterable[dt.date | str] = ()) -> OfficeCalendar:
        return cls(frozenset(d if isinstance(d, dt.date) else dt.date.fromisoformat(d) for d in closures))

    def closed_because(self, day: dt.date) -> str | None:
        """Why the office is closed that day (in Japanese), or None when it is open."""
        if day.weekday() == 5:
            return "土曜日"
        if day.weekday() == 6:
            return "日曜日"
        name = national_holiday(day)
        if name:
            return f"祝日（{name}）"
        if is_year_end_closure(day):
            return "年末年始の休日"
        if day in self.closures:
            return "閉庁日"
        return None

    def is_open(self, day: dt.date) -> bool:
        return self.closed_because(day) is None

    def add_open_days(self, start: dt.date, count: int) -> dt.date:
        """The `count`-th open day after `start` (before it when negative); `start` itself is not counted."""
        if abs(count) > MAX_SPAN:
            raise ValueError(f"開庁日の数は{MAX_SPAN}日以内で指定してください。")
        step = 1 if count >= 0 else -1
        day, left = start, abs(count)
        while left:
            day += dt.timedelta(days=step)
            if self.is_open(day):
                left -= 1
        return day

    def open_days_between(self, start: dt.date, end: dt.date) -> int:
        """Open days after `start` up to and including `end` (negative when `end` is earlier)."""
        if abs((end - start).days) > MAX_SPAN:
            raise ValueError("期間が長すぎます。")
        step = 1 if end >= start else -1
        count, day = 0, start
        while day != end:
            day += dt.timedelta(days=step)
            if self.is_open(day):
                count += step
        return count

    def next_open_day(self, day: dt.date) -> dt.date:
        """`day` itself when open, else the first open day after it (a deadline never falls on a closed day)."""
        while not self.is_open(day):
            day += dt.timedelta(days=1)
        return day


def weekday_ja(day: dt.date) -> str:
    return WEEKDAYS_JA[day.weekday()]
