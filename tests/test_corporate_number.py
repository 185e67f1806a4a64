import pytest

from vendorrisk.domain.corporate_number import CorporateNumberError, check_digit, make, validate


def test_real_number_validates():
    # 国税庁's own corporate number.
    assert validate("7000012050002") == "7000012050002"


def test_full_width_hyphens_and_spaces_are_accepted():
    assert validate("７０００－０１２０－５０００２") == "7000012050002"
    assert validate(" 7000 0120 50002 ") == "7000012050002"


@pytest.mark.parametrize("raw", ["1000012050002", "700001205000", "70000120500021", "700001205000a", ""])
def test_invalid_numbers_get_a_japanese_message(raw):
    with pytest.raises(CorporateNumberError, match="法人番号"):
        validate(raw)


def test_make_round_trips():
    for base in ("000012050002", "123456789012", "999999999999"):
        assert validate(make(base)) == make(base)
        assert 1 <= check_digit(base) <= 9
