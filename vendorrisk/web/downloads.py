"""Download headers shared by the legal and staff pages."""

from __future__ import annotations

from urllib.parse import quote


def content_disposition(filename: str, ascii_fallback: str) -> str:
    """RFC 6266 / 5987: an ASCII fallback plus the UTF-8 (Japanese) file name."""
    return f"attachment; filename=\"{ascii_fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
