"""Extensions, created unbound and bound in :func:`civic.create_app` with ``init_app``."""

from __future__ import annotations

from flask import request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

from civic.core.api import CivicApi

# Stable constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
login_manager = LoginManager()
csrf = CSRFProtect()  # checked in civic.core.http (every form; bearer-token APIs exempt)
api = CivicApi()


def _limit_key() -> str:
    # Behind the reverse proxy, ProxyFix has already put the client's address in remote_addr.
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=_limit_key, headers_enabled=True)
