"""The request class: form values and uploaded file names arrive without control characters and
without Unicode non-characters.

A NUL byte or another C0 control character is never meaningful in a form field, and
PostgreSQL refuses NUL in text columns; U+FFFE, U+FFFF and the other non-characters cannot live
in XML (the DOCX annex) nor in a spreadsheet. Removing them here, once, keeps every form, the
contractor portal and every document made from what was typed from failing on them (tabs and
line breaks are kept).
"""

from __future__ import annotations

from typing import Any

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter, Map

from ..domain.vocabulary import clean_text


class CleanRequest(Request):
    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        super()._load_form_data()
        form = self.__dict__["form"]
        # A multipart part whose name cannot be read (`name="x\\"`: the quote is escaped) arrives
        # without a name: such a field cannot belong to any form and is dropped.
        self.__dict__["form"] = ImmutableMultiDict(
            [(clean_text(k), clean_text(v if isinstance(v, str) else "")) for k, v in form.items(multi=True)
             if isinstance(k, str)]
        )
        files = self.__dict__["files"]
        if any(not isinstance(name, str) for name in files):
            self.__dict__["files"] = type(files)((k, f) for k, f in files.items(multi=True) if isinstance(k, str))
        for upload in self.__dict__["files"].values():
            if upload.filename:
                upload.filename = clean_text(upload.filename)


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` in every route: ids beyond the id columns' range (INTEGER: 32-bit signed on
    PostgreSQL) match no route (a neutral 404) instead of reaching the database, which cannot bind them."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)
