"""法人番号 (corporate number): 13 digits, the first being a check digit.

Check digit = 9 - (sum(P_n * Q_n for n in 1..12) mod 9), where P_n is the n-th digit of the
12-digit base counted from the right, Q_n is 1 for odd n and 2 for even n (国税庁の定める計算方法).
"""

from __future__ import annotations

import re
import unicodedata


class CorporateNumberError(ValueError):
    """Invalid 法人番号; the message is Japanese and says what to do."""


_SEPARATORS = re.compile(r"[\s\-‐−ー–—]")


def normalize(raw: str) -> str:
    """Full-width digits, hyphens and spaces are accepted (NFKC) and removed."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or ""))


def check_digit(base12: str) -> int:
    if len(base12) != 12 or not base12.isdigit():
        raise ValueError("base must be 12 digits")
    total = 0
    for n, ch in enumerate(reversed(base12), start=1):
        total += int(ch) * (1 if n % 2 else 2)
    return 9 - (total % 9)


def validate(raw: str) -> str:
    """Return the normalised 13-digit number or raise CorporateNumberError."""
    number = normalize(raw)
    if not number.isascii() or not number.isdigit() or len(number) != 13:
        raise CorporateNumberError("法人番号は13桁の数字で入力してください。")
    if int(number[0]) != check_digit(number[1:]):
        raise CorporateNumberError(
            "法人番号の検査用数字（先頭の1桁）が一致しません。番号を確認して入力してください。"
        )
    return number


def make(base12: str) -> str:
    """Build a valid 13-digit number from a 12-digit base (used for demo data and tests)."""
    return f"{check_digit(base12)}{base12}"
