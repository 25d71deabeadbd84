"""Service endpoints: health, and the audit log for administrators."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app
from flask.views import MethodView

from civic.core import audit
from civic.core.api import Blueprint
from civic.core.auth import current_actor, require
from civic.core.pagination import PageArgs, page_schema
from civic.core.schemas import Integer, ShanghaiDateTime
from civic.extensions import db

blp = Blueprint("health", __name__, url_prefix="/", description="服务状态")
audit_blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="审计日志")


class AuditEntrySchema(ma.Schema):
    id = Integer()
    at = ShanghaiDateTime(metadata={"description": "Asia/Shanghai（+08:00）"})
    actor_id = Integer(allow_none=True)
    actor_role = ma.fields.String()
    action = ma.fields.String()
    object_type = ma.fields.String()
    object_id = ma.fields.String()
    note = ma.fields.String(allow_none=True)
    data = ma.fields.Raw(allow_none=True)


class AuditArgs(PageArgs):
    object_type = ma.fields.String(validate=ma.validate.Length(max=40))
    object_id = ma.fields.String(validate=ma.validate.Length(max=40))


@audit_blp.route("/audit")
class AuditEntries(MethodView):
    @require("admin")
    @audit_blp.arguments(AuditArgs, location="query")
    @audit_blp.response(200, page_schema(AuditEntrySchema))
    def get(self, args):
        """审计日志（仅管理员；按对象筛选，最新在前，游标分页）

        Times in Asia/Shanghai.  Errors: 401; 403 ``wrong_account_kind``; 400 ``cursor_invalid``.
        """
        items, cursor = audit.list_entries(object_type=args.get("object_type"),
                                           object_id=args.get("object_id"),
                                           cursor=args["cursor"], limit=args["limit"])
        return {"items": items, "next_cursor": cursor}


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200)
    def get(self):
        """服务健康状态：数据库、Redis 与所用组件

        Returns ``{"status": "ok"|"degraded", "env": "development"|"production", "database": {...},
        "redis": {...}, "parts": {"sms": "none", "wechat_login": "wechat", "notifications": "wechat",
        "media": "filesystem", "jobs": "rq", ...}}``; HTTP 503 when a configured part is down.  Redis
        is ``{"configured": false}`` on the embedded default.  ``parts`` names the adapter chosen for
        each part (:func:`civic.core.parts.configured`): names and URL schemes only, never a secret,
        a key or an address.
        """
        from civic.core import parts

        out = {"status": "ok", "env": current_app.config["ENV"],
               "database": {"ok": True, "dialect": db.engine.dialect.name}}
        try:
            db.session.execute(sa.text("SELECT 1"))
        except Exception as exc:  # the point is to report, not to raise
            db.session.rollback()
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
            out["redis"] = {"configured": False, "ok": True, "jobs": "in-process"}
        out["parts"] = parts.configured(current_app.config)
        return out, (200 if out["status"] == "ok" else 503)



class NoticeSchema(ma.Schema):
    holidays = ma.fields.List(ma.fields.Date(), required=True, metadata={"description": "放假日期"})
    workdays = ma.fields.List(ma.fields.Date(), load_default=list, metadata={"description": "调休上班日期"})
    source = ma.fields.String(validate=ma.validate.Length(max=300), metadata={"description": "通知文号或链接"})


class NoticeOutSchema(ma.Schema):
    year = Integer()
    holidays = ma.fields.List(ma.fields.String())
    workdays = ma.fields.List(ma.fields.String())
    recomputed = Integer(metadata={"description": "据此改变了期限的未结事项数（各领域：案件、村务查询、表决公告期、联署期、结果公示期）"})


calendar_blp = Blueprint("calendar", __name__, url_prefix="/api/v1", description="工作日历（国务院放假安排）")


@calendar_blp.route("/calendar/notices/<int:year>")
class HolidayNoticeByYear(MethodView):
    @require("admin")
    @calendar_blp.arguments(NoticeSchema)
    @calendar_blp.response(200, NoticeOutSchema)
    def put(self, data, year):
        """载入或更正某年国务院放假安排（管理员）；各领域未结期限随即重算

        Body: {"holidays": ["2027-01-01", ...], "workdays": ["2027-02-20", ...] (调休上班日), "source"}.
        The notice must list every statutory holiday of the year (《全国年节及纪念日放假办法》Art. 2,
        from 2025): an incomplete one is refused, not merged.  Loading or correcting it recomputes
        every open deadline whose counting touched the year, in every domain, provisional or not.
        Errors: 422 holiday_notice_invalid, 422 holiday_notice_incomplete (details.missing: the
        statutory days left out, details.festivals).
        """
        from civic.core.calendar import load_notice

        row, recomputed = load_notice(
            year, {"holidays": [d.isoformat() for d in data["holidays"]],
                   "workdays": [d.isoformat() for d in data["workdays"]]},
            actor=current_actor(), source=data.get("source"))
        return {"year": row.year, "holidays": row.holidays, "workdays": row.workdays, "recomputed": recomputed}


class NotificationSchema(ma.Schema):
    id = Integer()
    kind = ma.fields.String(attribute="template")
    title = ma.fields.String()
    body = ma.fields.String(allow_none=True)
    subject_type = ma.fields.String(attribute="object_type", allow_none=True)
    subject_id = ma.fields.Method("_subject_id")
    payload = ma.fields.Dict()
    created_at = ShanghaiDateTime()
    sent_at = ShanghaiDateTime(allow_none=True)
    read_at = ShanghaiDateTime(allow_none=True)

    def _subject_id(self, n):
        return int(n.object_id) if n.object_id and n.object_id.isdigit() else n.object_id


inbox_blp = Blueprint("inbox", __name__, url_prefix="/api/v1", description="我的通知")


@inbox_blp.route("/me/notifications")
class MyNotifications(MethodView):
    @require("resident", "staff", "admin")
    @inbox_blp.arguments(PageArgs, location="query")
    @inbox_blp.response(200, page_schema(NotificationSchema))
    def get(self, args):
        """我的通知（投诉进度、金点子等所有领域）"""
        from civic.core.notifications import inbox

        items, cursor = inbox(current_actor(), cursor=args["cursor"], limit=args["limit"])
        return {"items": items, "next_cursor": cursor}


@inbox_blp.route("/me/notifications/<int:notification_id>/read")
class NotificationRead(MethodView):
    @require("resident", "staff", "admin")
    @inbox_blp.response(200, NotificationSchema)
    def post(self, notification_id):
        """标记通知已读"""
        from civic.core.notifications import mark_read

        return mark_read(current_actor(), notification_id)


def docs_blueprint():
    """The API docs page, ``GET /api/v1/docs/``: Swagger UI reading ``/api/v1/openapi.json``, its
    scripts and styles served by civic from flask-swagger-ui's copy of the Swagger UI files, so the
    page works offline and from networks in China where public CDNs are slow or blocked.  The page is
    civic's own (``core/api_docs.html``): flask-swagger-ui's starts Swagger UI with an inline
    script, which civic's Content-Security-Policy refuses (civic.core.headers); civic's passes the
    settings in a data attribute to a static script, ``civic-docs.js``.  Swagger UI's ``BaseLayout``,
    without the standalone top bar: that bar (a box to load another document's URL) draws its logo
    with an inline ``<style>``, which the policy refuses too, and civic has one document to show."""
    from pathlib import Path

    import flask_swagger_ui
    from flask import Blueprint as FlaskBlueprint
    from flask import render_template, send_from_directory

    base = "/api/v1/docs"
    dist = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
    own = Path(__file__).resolve().parent / "static"
    bp = FlaskBlueprint("api_docs_page", __name__, url_prefix=base, template_folder="templates")
    config = {"dom_id": "#swagger-ui", "url": "/api/v1/openapi.json", "layout": "BaseLayout",
              "deepLinking": True, "docExpansion": "list"}

    @bp.get("/")
    def page():
        return render_template("core/api_docs.html", title="civic API 文档", base=base, config=config)

    @bp.get("/civic-docs.js")
    def start_script():
        return send_from_directory(own, "civic-docs.js", mimetype="text/javascript")

    @bp.get("/<path:path>")
    def swagger_ui_file(path):
        return send_from_directory(dist, path)

    return bp
