"""和暦 (Japanese era) dates for documents: 「令和8年11月22日」.

A small era table rather than the `japanera` package: japanera 2.1's `strftime` renders the era in
romaji (`%-E` → "Reiwa") and months in kanji numerals, and its `strptime` rejects the era directives,
so neither direction gives the plain 「令和元年5月1日」 form that contracts use. The modern eras are
fixed facts; the table below covers 明治 onward (the Gregorian calendar was adopted on 明治6年1月1日).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

__all__ = ["ERAS", "format_wareki", "parse_date", "parse_wareki", "wareki_year"]

# (name, first day). Ordered newest first.
ERAS: tuple[tuple[str, date], ...] = (
    ("令和", date(2019, 5, 1)),
    ("平成", date(1989, 1, 8)),
    ("昭和", date(1926, 12, 25)),
    ("大正", date(1912, 7, 30)),
    ("明治", date(1873, 1, 1)),
)
_ERA_START = dict(ERAS)
# The Gregorian year in which each era's 元年 falls. 明治元年 is 1868, but dates before the
# calendar reform (明治6年1月1日) are lunisolar and not supported, hence its later first day above.
_FIRST_YEAR = {"令和": 2019, "平成": 1989, "昭和": 1926, "大正": 1912, "明治": 1868}


def _era_of(d: date) -> tuple[str, int]:
    for name, start in ERAS:
        if d >= start:
            return name, d.year - _FIRST_YEAR[name] + 1
    raise ValueError(f"和暦に変換できない日付です（明治6年より前）: {d.isoformat()}")


def wareki_year(d: date) -> str:
    """「令和8年」 (元年 for the first year)."""
    name, year = _era_of(d)
    return f"{name}{'元' if year == 1 else year}年"


def format_wareki(d: date) -> str:
    """Return the date as 「令和8年11月22日」; the first year of an era is 元年."""
    if not isinstance(d, date):
        raise TypeError(f"expected a date, got {type(d).__name__}")
    return f"{wareki_year(d)}{d.month}月{d.day}日"


WEEKDAYS = "月火水木金土日"


def format_wareki_weekday(d: date) -> str:
    """「令和8年12月5日（土）」: the date style the contractor portal and its mails use."""
    return f"{format_wareki(d)}（{WEEKDAYS[d.weekday()]}）"


_WAREKI_RE = re.compile(
    r"^\s*(?P<era>" + "|".join(name for name, _ in ERAS) + r")\s*"
    r"(?P<year>元|\d{1,3})\s*年\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*日?\s*$"
)


def parse_wareki(s: str) -> date:
    """Parse 「令和8年11月22日」 / 「令和元年５月１日」 (full-width digits and spaces accepted).

    Raises ValueError for anything that is not a real date inside the named era.
    """
    text = unicodedata.normalize("NFKC", s or "")
    m = _WAREKI_RE.match(text)
    if not m:
        raise ValueError(f"和暦の日付として読めません: {s!r}")
    era = m["era"]
    year = 1 if m["year"] == "元" else int(m["year"])
    if year < 1:
        raise ValueError(f"和暦の年が正しくありません: {s!r}")
    start = _ERA_START[era]
    result = date(_FIRST_YEAR[era] + year - 1, int(m["month"]), int(m["day"]))  # ValueError if impossible
    if result < start:
        raise ValueError(f"{era}の開始日より前の日付です: {s!r}")
    newer = [st for name, st in ERAS if st > start]
    if newer and result >= min(newer):
        raise ValueError(f"{era}の終了後の日付です: {s!r}")
    return result


_WESTERN_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def parse_date(s: str) -> date:
    """A date as people type it: 2026-04-01, 2026/4/1, 2026年4月1日 or 和暦 (令和8年4月1日),
    full-width digits and spaces accepted. Raises ValueError when it is not a real date."""
    text = unicodedata.normalize("NFKC", s or "").strip().replace(" ", "")
    m = _WESTERN_RE.match(text)
    if m:
        return date(int(m[1]), int(m[2]), int(m[3]))
    return parse_wareki(text)
