"""Service endpoints: health."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from civic.extensions import db

blp = Blueprint("health", __name__, url_prefix="/", description="服务状态")


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200)
    def get(self):
        """服务健康状态：数据库与 Redis

        Returns ``{"status": "ok"|"degraded", "database": {...}, "redis": {...}}``; HTTP 503 when
        a configured part is down.  Redis is ``{"configured": false}`` on the embedded default.
        """
        out = {"status": "ok", "database": {"ok": True, "dialect": db.engine.dialect.name}}
        try:
            db.session.execute(sa.text("SELECT 1"))
        except Exception as exc:  # the point is to report, not to raise
            out["database"] = {"ok": False, "error": type(exc).__name__}
            out["status"] = "degraded"
        if current_app.config.get("REDIS_URL"):
            from civic.core.jobs import redis_connection

            try:
                redis_connection().ping()
                out["redis"] = {"configured": True, "ok": True}
            except Exception as exc:
                out["redis"] = {"configured": True, "ok": False, "error": type(exc).__name__}
                out["status"] = "degraded"
        else:
            out["redis"] = {"configured": False, "jobs": "in-process"}
        return out, (200 if out["status"] == "ok" else 503)
