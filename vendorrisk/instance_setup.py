"""Prepare the instance folder: a secret key and the audit log's HMAC key on first run, then the
database migrated to head.

Run by `make setup` (python -m vendorrisk.instance_setup). Safe to run again."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from .paths import default_instance_dir


def ensure_config() -> None:
    instance = default_instance_dir()
    instance.mkdir(parents=True, exist_ok=True)
    config = instance / "config.py"
    if not config.exists():
        config.write_text(
            "# Written by `make setup`. Secrets live here, never in the repository.\n"
            f"SECRET_KEY = {secrets.token_hex(32)!r}\n",
            encoding="utf-8",
        )
        config.chmod(0o600)
        print(f"== wrote {config} (new SECRET_KEY)")


AUDIT_KEY_FILE = "audit.key"


def ensure_audit_key(instance: Path) -> Path:
    """instance/audit.key: the audit log's HMAC key, kept outside the database (never in the repository).

    Created once, atomically (written to a private temporary file, then hard-linked into place), so
    two processes starting together end up with the same key; an existing key is never replaced."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / AUDIT_KEY_FILE
    if path.exists():
        return path
    tmp = instance / f".{AUDIT_KEY_FILE}.{secrets.token_hex(8)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (secrets.token_hex(32) + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process created it first: keep that one
    finally:
        tmp.unlink()
    return path


def main() -> int:
    ensure_config()
    if not (default_instance_dir() / AUDIT_KEY_FILE).exists():
        key = ensure_audit_key(default_instance_dir())
        print(f"== wrote {key} (audit log key: back it up, apart from the database)")
    from . import create_app
    from .adapters.pdf import check_harfbuzz_subset
    from .migrate import repair_data, upgrade

    app = create_app()
    upgrade(app)
    for slug in repair_data(app):
        print(f"== {slug}: the policy citation now carries its full number")
    print(f"== database ready: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")
    if not check_harfbuzz_subset():
        print("!! libharfbuzz-subset0 is missing: annex PDFs will take ~20x longer. "
              "Run: sudo apt-get install libharfbuzz-subset0", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
