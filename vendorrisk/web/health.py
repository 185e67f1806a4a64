"""GET /healthz: can this worker serve? Database, Redis (when configured), the annex fonts and
HarfBuzz subsetting. No login (load balancers and monitoring call it); JSON; 200 or 503."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from ..extensions import limiter
from ..serving import health_report

bp = Blueprint("health", __name__)


@bp.route("/healthz")
@limiter.exempt
def healthz() -> Any:
    report, healthy = health_report()
    return jsonify(report), 200 if healthy else 503
