"""The request class: form values and uploaded file names arrive without control characters.

A NUL byte or another C0 control character is never meaningful in a form field, and
PostgreSQL refuses NUL in text columns; removing them here, once, keeps every form and the
contractor portal from failing on them (tabs and line breaks are kept).
"""

from __future__ import annotations

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict

from ..domain.vocabulary import strip_control


class CleanRequest(Request):
    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        super()._load_form_data()
        form = self.__dict__["form"]
        self.__dict__["form"] = ImmutableMultiDict(
            [(strip_control(k), strip_control(v)) for k, v in form.items(multi=True)]
        )
        for upload in self.__dict__["files"].values():
            if upload.filename:
                upload.filename = strip_control(upload.filename)
