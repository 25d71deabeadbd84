"""Request lifecycle: error envelope, idempotency, body limits, and the one commit per request."""

from __future__ import annotations

import logging

from flask import Flask, Response, g, request
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from civic.core import idempotency
from civic.core.api import envelope, handle_civic_error, handle_unexpected
from civic.core.db import run_after_commit_hooks
from civic.core.errors import CivicError, PayloadTooLarge
from civic.extensions import db

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    app.register_error_handler(CivicError, handle_civic_error)
    app.register_error_handler(IntegrityError, _integrity_error)
    app.register_error_handler(StaleDataError, _stale_data)
    app.register_error_handler(Exception, handle_unexpected)

    @app.before_request
    def _limits():
        # Flask reuses an app context that is already pushed (tests, CLI), and Flask-Login caches
        # the user in g: each request must authenticate afresh.
        g.pop("_login_user", None)
        if request.mimetype == "application/json":
            length = request.content_length
            if length is not None and length > app.config["MAX_JSON_BYTES"]:
                raise PayloadTooLarge(
                    "JSON 请求体过大", code="payload_too_large",
                    details={"max_bytes": app.config["MAX_JSON_BYTES"]},
                )
        return idempotency.before_request()

    @app.after_request
    def _commit(response: Response) -> Response:
        if request.path.startswith("/static"):
            return response
        if response.status_code >= 400:
            db.session.rollback()
            g.pop("idempotency", None)
            return response
        info = g.get("idempotency")
        try:
            idempotency.store(response)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            if info is not None:
                g.idempotency_lost = info
                try:
                    replay = idempotency.replay_after_race(response)
                except CivicError as exc:
                    return handle_civic_error(exc)
                if replay is not None:
                    return replay
            log.info("commit conflict on %s %s", request.method, request.path)
            return envelope("conflict", "操作冲突，请刷新后重试", {}, 409)
        except StaleDataError:
            # Optimistic lock lost at commit: another request changed the row first.
            db.session.rollback()
            return _stale_data(None)
        except OperationalError:
            db.session.rollback()
            log.exception("database error at commit")
            return envelope("service_unavailable", "数据库繁忙，请稍后重试", {}, 503)
        run_after_commit_hooks()
        return response


def _integrity_error(error: IntegrityError):
    db.session.rollback()
    log.info("integrity error: %s", error.orig)
    return envelope("conflict", "操作冲突，请刷新后重试", {}, 409)


def _stale_data(error: StaleDataError | None):
    """A versioned row (e.g. a complaint) was changed by someone else between our read and our
    write: one of two staff acting at once wins, the other gets this 409, nothing is half-written."""
    db.session.rollback()
    log.info("optimistic lock lost: %s", error)
    return envelope("case_changed", "数据已被他人更新，请刷新后重试", {}, 409)


__all__ = ["init_app", "HTTPException"]
