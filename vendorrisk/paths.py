"""Where the project's resource folders are, resolved once.

`templates/` and `questionnaires/` live at the top of the repository, outside the package, so
Flask and Jinja would not find them on their own. Everything that needs them imports these
constants instead of guessing from the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
TEMPLATES_DIR = Path(os.environ.get("VENDORRISK_TEMPLATES", PROJECT_ROOT / "templates")).resolve()
QUESTIONNAIRES_DIR = Path(
    os.environ.get("VENDORRISK_QUESTIONNAIRES", PROJECT_ROOT / "questionnaires")
).resolve()
POLICIES_DIR = PACKAGE_DIR / "data" / "policies"
STATIC_DIR = PACKAGE_DIR / "static"
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"


def default_instance_dir() -> Path:
    """The instance folder: `instance/` in the checkout unless VENDORRISK_INSTANCE names another."""
    return Path(os.environ.get("VENDORRISK_INSTANCE", PROJECT_ROOT / "instance")).resolve()
