"""Prepare the instance folder: a secret key on first run, then the database migrated to head.

Run by `make setup` (python -m vendorrisk.instance_setup). Safe to run again."""

from __future__ import annotations

import secrets
import sys

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


def main() -> int:
    ensure_config()
    from . import create_app
    from .adapters.pdf import check_harfbuzz_subset
    from .migrate import upgrade

    app = create_app()
    upgrade(app)
    print(f"== database ready: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")
    if not check_harfbuzz_subset():
        print("!! libharfbuzz-subset0 is missing: annex PDFs will take ~20x longer. "
              "Run: sudo apt-get install libharfbuzz-subset0", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
