"""Issue #15 point 11: every operation of the OpenAPI document answers as the document says.

Schemathesis generates requests for every operation of ``/api/v1/openapi.json`` (valid and invalid
ones), sends them to the app through WSGI as three demo users — a resident (张三), a property company's
staff member (何, 世茂物业) and the administrator — on the demo street (``civic.demo.load_demo``), and
fails on any 5xx, on any response whose body does not match the schema the document gives for its
status, and on a status or content type the document does not list for the operation
(``not_a_server_error``, ``response_schema_conformance``, ``status_code_conformance``,
``content_type_conformance``).

Bounded so that the README's test command runs it on both databases in a few minutes:
``CIVIC_FUZZ_EXAMPLES`` examples per operation, mode and role (default 6), derandomised (the same
requests every run, so CI is not flaky; set ``CIVIC_FUZZ_SEED`` to explore other inputs).  Rate
limits are off for the run (a fuzzer is one client sending hundreds of writes a minute).
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from civic.core.db import commit  # noqa: E402
from civic.extensions import db, limiter  # noqa: E402


@schemathesis.serializer("application/offset+octet-stream")
def _tus_piece(ctx, value):
    """A tus PATCH body (civic.core.resumable_routes): raw bytes, as for application/octet-stream,
    which schemathesis knows by name only."""
    from schemathesis.transport.serialization import serialize_binary

    return serialize_binary(value)


CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
EXAMPLES = int(os.environ.get("CIVIC_FUZZ_EXAMPLES", "6"))
SEED = os.environ.get("CIVIC_FUZZ_SEED")
ROLES = {"resident": ("openid", "dev-zhang_san"), "property_company": ("username", "pc_sm_he"),
         "admin": ("username", "admin")}
# Operations whose call would end the role's session for the rest of the run (its token), checked
# with a token of their own.
ENDS_SESSION = {("POST", "/api/v1/auth/logout")}
# Operations that delete the caller's own account (PIPL Art. 47): a resident's are checked as a
# resident of their own, made for it, so the demo resident stays for the rest of the run.
ENDS_ACCOUNT = {("DELETE", "/api/v1/me")}


def _user(field: str, value: str):
    from civic.accounts.models import User

    col = User.username if field == "username" else User.wechat_openid
    return db.session.scalar(sa.select(User).where(col == value))


def _throwaway_resident():
    from civic.accounts.service import create_resident

    n = db.session.scalar(sa.select(sa.func.count()).select_from(sa.table("user_account")))
    return create_resident(display_name=f"临时居民{n}", phone=None, openid=f"fuzz-{n}")


def _token(user) -> dict:
    from civic.accounts.identity import issue_token

    token, _ = issue_token(user)
    commit()
    return {"Authorization": f"Bearer {token}"}


def _run(operation, mode, headers, failures: list[str], answered: set) -> None:
    strategy = operation.as_strategy(generation_mode=mode)
    options = dict(max_examples=EXAMPLES, deadline=None, database=None, derandomize=SEED is None,
                   phases=[Phase.explicit, Phase.generate, Phase.shrink],
                   suppress_health_check=list(HealthCheck))

    @settings(**options)
    @given(case=strategy)
    def check(case):
        if mode == schemathesis.GenerationMode.POSITIVE:
            # Random ids find nothing (404): send most valid requests to the demo's own objects
            # (ids 1-4 exist in nearly every table), so that real answers are checked too.
            for name, value in (case.path_parameters or {}).items():
                if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                    case.path_parameters[name] = 1 + value % 4
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        if response.status_code < 300:
            answered.add((operation.method.upper(), operation.path))

    if SEED is not None:
        check = seed(int(SEED))(check)
    try:
        check()
    except Unsatisfiable:
        pass  # nothing to make invalid (e.g. an operation without parameters, in the negative mode)
    except (Exception, BaseExceptionGroup) as exc:  # one operation's failure must not hide the others'
        found = exc.exceptions if isinstance(exc, BaseExceptionGroup) else [exc]
        failures.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: "
                        + "\n".join(f"{type(e).__name__}: {e}"[:1500] for e in found))


def test_every_operation_answers_as_documented_for_each_role(app, monkeypatch):
    from civic.demo import load_demo

    monkeypatch.setattr(limiter, "enabled", False)
    load_demo(cases=True)
    commit()
    users = {role: _user(*key) for role, key in ROLES.items()}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 140
    failures: list[str] = []
    answered: dict[str, set] = {}
    for role, user in users.items():
        headers = _token(user)
        answered[role] = set()
        for operation in operations:
            op = (operation.method.upper(), operation.path)
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
                if op in ENDS_ACCOUNT and user.kind == "resident":
                    own_headers = _token(_throwaway_resident())
                elif op in ENDS_SESSION:
                    own_headers = _token(user)
                else:
                    own_headers = headers
                _run(operation, mode, own_headers, failures, answered[role])
            db.session.rollback()
    assert not failures, f"{len(failures)} operation(s) broke the document:\n\n" + "\n\n".join(failures)
    # The run reached past authentication: each role got real answers (2xx), from many operations.
    assert {role: len(ops) >= 25 for role, ops in answered.items()} == {role: True for role in ROLES}, \
        {role: len(ops) for role, ops in answered.items()}


def _properties(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for name, prop in value.items():
                    yield f"{path}.{name}", prop
            yield from _properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, f"{path}/{i}")


def test_every_decimal_field_is_documented_as_the_string_it_is_sent_as(client):
    """The kind of fault behind 1,857 mismatched responses: a marshmallow Decimal sent as a string
    but documented as ``number``.  Every such field of every schema is a decimal string now."""
    import marshmallow as ma

    from civic.core.api import DECIMAL_PATTERN

    doc = client.get("/api/v1/openapi.json").get_json()
    decimals = {name: prop for name, prop in _properties(doc) if prop.get("format") == "decimal"}
    assert len(decimals) >= 9
    assert all(p["type"] == "string" and p["pattern"] == DECIMAL_PATTERN for p in decimals.values()), decimals
    # ... and no marshmallow Decimal field of civic is documented otherwise (every schema class).
    schemas = [cls for cls in _subclasses(ma.Schema) if cls.__module__.startswith("civic.")]
    fields = [(cls.__name__, name) for cls in schemas for name, f in cls._declared_fields.items()
              if isinstance(f, ma.fields.Decimal)]
    assert len(fields) >= 9
    documented = {name.rsplit(".", 1)[-1] for name in decimals}
    assert {name for _cls, name in fields} <= documented, fields


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
