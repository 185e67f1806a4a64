from datetime import date, timedelta

import pytest

from vendorrisk.domain.wareki import format_wareki, parse_wareki, wareki_year


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2026, 11, 22), "令和8年11月22日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2019, 12, 31), "令和元年12月31日"),
        (date(2020, 1, 1), "令和2年1月1日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1926, 12, 25), "昭和元年12月25日"),
        (date(1912, 7, 30), "大正元年7月30日"),
    ],
)
def test_format_wareki(d, expected):
    assert format_wareki(d) == expected


def test_wareki_year():
    assert wareki_year(date(2027, 3, 31)) == "令和9年"
    assert wareki_year(date(2019, 5, 1)) == "令和元年"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("令和8年11月22日", date(2026, 11, 22)),
        ("令和８年１１月２２日", date(2026, 11, 22)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("令和元年５月１日", date(2019, 5, 1)),
        ("令和1年5月1日", date(2019, 5, 1)),
        (" 令和 ９ 年 ３ 月 ３１ 日 ", date(2027, 3, 31)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("昭和64年1月7日", date(1989, 1, 7)),
    ],
)
def test_parse_wareki(text, expected):
    assert parse_wareki(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "2026年11月22日", "令和0年1月1日", "令和8年2月30日", "令和元年4月30日", "平成32年1月1日",
     "平成31年5月1日", "令和8年13月1日", "令和八年十一月二十二日"],
)
def test_parse_wareki_rejects(text):
    with pytest.raises(ValueError):
        parse_wareki(text)


def test_round_trip_across_era_boundaries():
    d = date(1988, 12, 1)
    while d < date(2020, 2, 1):
        assert parse_wareki(format_wareki(d)) == d
        d += timedelta(days=7)
    for d in (date(2019, 4, 30), date(2019, 5, 1), date(1989, 1, 7), date(1989, 1, 8)):
        assert parse_wareki(format_wareki(d)) == d


def test_format_rejects_non_dates():
    with pytest.raises(TypeError):
        format_wareki("2026-11-22")
    with pytest.raises(ValueError):
        format_wareki(date(1872, 12, 31))


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("明治10年1月1日 制定", date(1877, 1, 1)),  # 明治元年 is 1868, not the 1873 of the calendar reform
        ("令和８年４月１日 一部改定", date(2026, 4, 1)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("平成31年5月1日", None),  # 平成 had ended: not a real date
        ("2026年4月1日 施行", date(2026, 4, 1)),
    ],
)
def test_policy_enactment_dates_use_the_one_era_table(written, expected):
    from vendorrisk.domain.policy.front import enactment_date

    assert enactment_date(written) == expected
