"""The request class: form values and uploaded file names arrive without control characters and
without Unicode non-characters.

A NUL byte or another C0 control character is never meaningful in a form field, and
PostgreSQL refuses NUL in text columns; U+FFFE, U+FFFF and the other non-characters cannot live
in XML (the DOCX annex) nor in a spreadsheet. Removing them here, once, keeps every form, the
contractor portal and every document made from what was typed from failing on them (tabs and
line breaks are kept).
"""

from __future__ import annotations

import re

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict

from ..domain.vocabulary import strip_control

# U+FDD0..U+FDEF and the last two code points of every plane (U+FFFE, U+FFFF, U+1FFFE …).
NONCHARACTERS_RE = re.compile(
    "[\ufdd0-\ufdef" + "".join(f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}" for p in range(17)) + "]"
)


def clean_text(value: str) -> str:
    """What every form value and file name goes through on the way in."""
    return NONCHARACTERS_RE.sub("", strip_control(value))


class CleanRequest(Request):
    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        super()._load_form_data()
        form = self.__dict__["form"]
        self.__dict__["form"] = ImmutableMultiDict(
            [(clean_text(k), clean_text(v)) for k, v in form.items(multi=True)]
        )
        for upload in self.__dict__["files"].values():
            if upload.filename:
                upload.filename = clean_text(upload.filename)
