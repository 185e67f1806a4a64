"""The gates of `make test` themselves: pip-audit is never skipped silently (and fails where it is
required, AUDIT_REQUIRED=1), and the
complexity gate fails on a function above cyclomatic complexity 20."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _make(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "CI"}
    return subprocess.run(["make", "-s", *args], cwd=ROOT, env={**environ, **env}, capture_output=True,
                          text=True, timeout=300, check=False)


def test_audit_without_advisory_data_is_skipped_with_a_message_but_fails_where_required():
    unreachable = "AUDIT_INDEX=http://127.0.0.1:9"
    local = _make("audit", unreachable)
    assert local.returncode == 0 and "pip-audit SKIPPED" in local.stdout
    required = _make("audit", unreachable, "AUDIT_REQUIRED=1")
    assert required.returncode != 0 and "pip-audit FAILED" in required.stdout and "AUDIT_REQUIRED" in required.stdout


def test_the_complexity_gate_fails_on_a_function_rated_d(tmp_path):
    assert _make("complexity").returncode == 0
    probe = ROOT / "vendorrisk" / f"_complexity_probe_{os.getpid()}.py"
    probe.write_text("def f(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(25))
                     + "    return 0\n", encoding="utf-8")
    try:
        run = _make("complexity")
    finally:
        probe.unlink()
    assert run.returncode != 0 and "D (26)" in run.stdout and "cyclomatic complexity 20" in run.stdout
