"""Identity: staff passwords, WeChat code2session, phone one-time codes, tokens, scoped permissions."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import socket

import pytest
import sqlalchemy as sa
from werkzeug.wrappers import Request, Response

from civic.accounts.memberships import require_coverage, require_membership
from civic.accounts.models import ApiToken, OtpChallenge, User
from civic.core.audit import AuditEntry
from civic.core.db import utcnow
from civic.core.errors import Forbidden
from civic.extensions import db

PASSWORD = "test-pass-123"


def _login(client, username, password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def _sms_code(caplog, phone):
    found = [re.search(r"验证码是 (\d{6})", r.getMessage()) for r in caplog.records
             if r.getMessage().startswith(f"DEV SMS to {phone}")]
    assert found, "no SMS logged"
    return found[-1].group(1)


# --- staff passwords and tokens -----------------------------------------------------------------

def test_staff_password_login_returns_a_token_with_memberships(client, factory):
    org = factory.org("property_company", [factory.ladder()["compound"]], name="绿城物业")
    factory.staff(org, role="head", username="wang")
    resp = _login(client, "wang")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["user"]["kind"] == "staff"
    assert body["user"]["memberships"] == [{"organisation_id": org.id, "organisation_name": "绿城物业",
                                            "organisation_kind": "property_company", "role": "head"}]
    assert body["expires_at"].endswith("+08:00")


def test_passwords_are_stored_with_scrypt(factory):
    user = factory.staff(username="li")
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash


def test_database_holds_only_the_sha256_of_a_token(client, factory):
    factory.staff(username="zhao")
    token = _login(client, "zhao").get_json()["token"]
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    rows = db.session.execute(sa.select(ApiToken)).scalars().all()
    assert [r.token_hash for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    dumped = json.dumps([{c.name: str(getattr(r, c.key)) for c in ApiToken.__table__.columns} for r in rows])
    assert token not in dumped


def test_two_logins_get_different_tokens(client, factory):
    factory.staff(username="qian")
    assert _login(client, "qian").get_json()["token"] != _login(client, "qian").get_json()["token"]


def test_staff_tokens_expire_after_twelve_hours(client, factory):
    factory.staff(username="sun")
    _login(client, "sun")
    tok = db.session.scalar(sa.select(ApiToken))
    assert tok.expires_at - tok.created_at == pytest.approx(dt.timedelta(hours=12), abs=dt.timedelta(seconds=5))


def test_wrong_password_and_unknown_user_get_the_same_answer(client, factory, envelope):
    factory.staff(username="zhou")
    wrong = envelope(_login(client, "zhou", "wrong-password-1"), 401, "invalid_credentials")
    unknown = envelope(_login(client, "nobody", "wrong-password-1"), 401, "invalid_credentials")
    assert wrong == unknown


def test_a_failed_login_is_kept_in_the_audit_log(client, factory):
    user = factory.staff(username="wu")
    _login(client, "wu", "wrong-password-1")
    db.session.expire_all()
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_id == str(user.id))).all()
    assert actions == ["auth.login_failed"]


def test_a_disabled_account_cannot_log_in(client, factory, envelope):
    user = factory.staff(username="zheng")
    user.active = False
    factory.commit()
    envelope(_login(client, "zheng"), 401, "account_disabled")


def test_me_with_a_token(client, factory):
    places = factory.ladder()
    rc = factory.org("residents_committee", [places["community"]], name="测试居委会")
    user = factory.staff(org=rc, role="moderator", username="feng")
    resp = client.get("/api/v1/me", headers=factory.token(user))
    assert resp.status_code == 200
    assert resp.get_json() == {
        "id": user.id, "kind": "staff", "display_name": "测试员", "phone_masked": None,
        "must_change_password": False, "memberships": [{"organisation_id": rc.id, "organisation_name": "测试居委会",
                         "organisation_kind": "residents_committee", "role": "moderator"}],
        "units": []}


def test_me_is_exactly_what_its_documented_schema_dumps(client, factory):
    # /me sends me_dict as JSON without marshmallow (it runs on every client start): the shape must
    # stay the one MeSchema documents in the OpenAPI document, for staff and for residents.
    from civic.accounts.routes import me_dict
    from civic.accounts.schemas import MeSchema

    places = factory.ladder()
    staff = factory.staff(org=factory.org("property_company", [places["compound"]]), role="head")
    resident = factory.resident(phone="13912345678", units=places["units"], relation="co_owner")
    for user in (staff, resident):
        body = client.get("/api/v1/me", headers=factory.token(user)).get_json()
        assert body == MeSchema().dump(me_dict(user)) == me_dict(user)
    assert body["phone_masked"] == "139****5678" and [u["relation"] for u in body["units"]] == ["co_owner"] * 2
    schema = client.get("/api/v1/openapi.json").get_json()
    ok = schema["paths"]["/api/v1/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Me"}


def test_limits_are_checked_in_the_views_and_the_app_has_no_limiter_hook(app):
    # civic declares every limit on its view; Flask-Limiter's before_request hook is taken off
    # (civic._limit_in_views_only) and the login limit still answers 429 (test_api_conventions).
    from civic.extensions import limiter

    assert not [f for f in app.before_request_funcs[None] if getattr(f, "__self__", None) is limiter]
    assert any(name.startswith("civic.accounts.routes.StaffLogin") for name in limiter.limit_manager._decorated_limits)


def test_logout_revokes_the_token(client, factory, envelope):
    headers = factory.token(factory.staff(username="chen"))
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    envelope(client.get("/api/v1/me", headers=headers), 401, "token_revoked")
    assert db.session.scalar(sa.select(ApiToken.revoked_at)) is not None


def test_an_expired_token_is_refused(client, factory, envelope):
    headers = factory.token(factory.staff(username="chu"))
    db.session.execute(sa.update(ApiToken).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    factory.commit()
    envelope(client.get("/api/v1/me", headers=headers), 401, "token_expired")


def test_an_unknown_token_is_refused(client, envelope):
    envelope(client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"}), 401, "token_invalid")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token abc", "bearer"])
def test_a_malformed_authorization_header_is_refused(client, envelope, header):
    envelope(client.get("/api/v1/me", headers={"Authorization": header}), 401, "token_malformed")


def test_no_credentials_is_unauthenticated(client, envelope):
    envelope(client.get("/api/v1/me"), 401, "unauthenticated")


# --- residents ------------------------------------------------------------------------------------

def test_a_resident_sees_a_masked_phone_and_linked_units(client, factory):
    ladder = factory.ladder()
    unit = ladder["units"][0]
    user = factory.resident(phone="13912345678", units=[unit])
    body = client.get("/api/v1/me", headers=factory.token(user)).get_json()
    assert body["kind"] == "resident"
    assert body["phone_masked"] == "139****5678"
    assert "13912345678" not in json.dumps(body)
    assert body["units"] == [{"unit_id": unit.id, "unit_name": "101室", "relation": "owner"}]


def test_resident_tokens_last_thirty_days(factory):
    factory.token(factory.resident())
    tok = db.session.scalar(sa.select(ApiToken))
    assert tok.expires_at - tok.created_at == pytest.approx(dt.timedelta(days=30), abs=dt.timedelta(seconds=5))


# --- phone one-time codes -------------------------------------------------------------------------

def test_otp_login_creates_a_resident(client, caplog):
    caplog.set_level(logging.WARNING, logger="civic.accounts.service")
    resp = client.post("/api/v1/auth/otp", json={"phone": "+86 139-0000-1111"})
    assert resp.status_code == 202
    code = _sms_code(caplog, "13900001111")
    resp = client.post("/api/v1/auth/otp/verify", json={"phone": "13900001111", "code": code})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["created"] is True
    assert body["user"]["phone_masked"] == "139****1111"
    assert db.session.scalar(sa.select(User.phone).where(User.id == body["user"]["id"])) == "13900001111"


def test_otp_second_login_finds_the_same_resident(client, factory, caplog):
    caplog.set_level(logging.WARNING, logger="civic.accounts.service")
    user = factory.resident(phone="13900002222")
    client.post("/api/v1/auth/otp", json={"phone": "13900002222"})
    body = client.post("/api/v1/auth/otp/verify",
                       json={"phone": "13900002222", "code": _sms_code(caplog, "13900002222")}).get_json()
    assert (body["created"], body["user"]["id"]) == (False, user.id)


def test_otp_is_stored_hashed(client, caplog):
    caplog.set_level(logging.WARNING, logger="civic.accounts.service")
    client.post("/api/v1/auth/otp", json={"phone": "13900003333"})
    code = _sms_code(caplog, "13900003333")
    stored = db.session.scalar(sa.select(OtpChallenge.code_hash))
    assert len(stored) == 64 and code not in stored


def test_otp_cannot_be_resent_at_once(client, envelope):
    client.post("/api/v1/auth/otp", json={"phone": "13900004444"})
    err = envelope(client.post("/api/v1/auth/otp", json={"phone": "13900004444"}), 429, "otp_too_soon")
    assert err["details"] == {"retry_after_seconds": 60}


def test_otp_wrong_code_counts_attempts(client, envelope):
    client.post("/api/v1/auth/otp", json={"phone": "13900005555"})
    resp = client.post("/api/v1/auth/otp/verify", json={"phone": "13900005555", "code": "0000000"})
    assert envelope(resp, 401, "otp_invalid")["details"] == {"attempts_left": 4}
    assert db.session.scalar(sa.select(OtpChallenge.attempts)) == 1


def test_otp_locks_after_five_wrong_attempts_even_for_the_right_code(client, caplog, envelope):
    caplog.set_level(logging.WARNING, logger="civic.accounts.service")
    client.post("/api/v1/auth/otp", json={"phone": "13900006666"})
    code = _sms_code(caplog, "13900006666")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        envelope(client.post("/api/v1/auth/otp/verify", json={"phone": "13900006666", "code": wrong}),
                 401, "otp_invalid")
    envelope(client.post("/api/v1/auth/otp/verify", json={"phone": "13900006666", "code": code}),
             401, "otp_locked")


def test_otp_expires(client, caplog, envelope):
    caplog.set_level(logging.WARNING, logger="civic.accounts.service")
    client.post("/api/v1/auth/otp", json={"phone": "13900007777"})
    db.session.execute(sa.update(OtpChallenge).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    db.session.commit()
    resp = client.post("/api/v1/auth/otp/verify",
                       json={"phone": "13900007777", "code": _sms_code(caplog, "13900007777")})
    envelope(resp, 401, "otp_expired")


def test_otp_works_once(client, caplog, envelope):
    caplog.set_level(logging.WARNING, logger="civic.accounts.service")
    client.post("/api/v1/auth/otp", json={"phone": "13900008888"})
    data = {"phone": "13900008888", "code": _sms_code(caplog, "13900008888")}
    assert client.post("/api/v1/auth/otp/verify", json=data).status_code == 200
    envelope(client.post("/api/v1/auth/otp/verify", json=data), 401, "otp_used")


def test_a_used_code_is_called_used_even_after_an_earlier_code_was_locked(client, caplog, envelope):
    # An earlier, locked code must not answer for the latest one (it said "too many attempts").
    caplog.set_level(logging.WARNING, logger="civic.accounts.service")
    client.post("/api/v1/auth/otp", json={"phone": "13900008877"})
    for _ in range(5):
        client.post("/api/v1/auth/otp/verify", json={"phone": "13900008877", "code": "0000000"})
    db.session.execute(sa.update(OtpChallenge).values(created_at=utcnow() - dt.timedelta(minutes=2)))
    db.session.commit()
    assert client.post("/api/v1/auth/otp", json={"phone": "13900008877"}).status_code == 202
    data = {"phone": "13900008877", "code": _sms_code(caplog, "13900008877")}
    assert client.post("/api/v1/auth/otp/verify", json=data).status_code == 200
    err = envelope(client.post("/api/v1/auth/otp/verify", json=data), 401, "otp_used")
    assert err["message"] == "验证码已使用，请重新获取"


def test_otp_rejects_a_non_mainland_phone(client, envelope):
    envelope(client.post("/api/v1/auth/otp", json={"phone": "12345678901"}), 422, "phone_invalid")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OtpChallenge)) == 0


def test_dev_sms_adapter_is_refused_in_production(app, client, monkeypatch, envelope):
    monkeypatch.setitem(app.config, "ENV", "production")
    envelope(client.post("/api/v1/auth/otp", json={"phone": "13900009999"}), 503, "sms_unavailable")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OtpChallenge)) == 0


# --- WeChat mini-program --------------------------------------------------------------------------

def test_wechat_dev_adapter_maps_a_code_to_a_resident(client):
    first = client.post("/api/v1/auth/wechat", json={"code": "abc"}).get_json()
    again = client.post("/api/v1/auth/wechat", json={"code": "abc"}).get_json()
    assert (first["created"], again["created"]) == (True, False)
    assert first["user"]["id"] == again["user"]["id"]
    assert db.session.scalar(sa.select(User.wechat_openid)) == "dev-abc"


@pytest.mark.parametrize("code", ["", "  ", "a b", "a\u0001b", "码", "x" * 129])
def test_wechat_code_must_be_a_printable_ascii_token(client, envelope, code):
    schema_refuses = not code or len(code) > 128  # the schema's length check comes first
    envelope(client.post("/api/v1/auth/wechat", json={"code": code}), 422 if schema_refuses else 400,
             "validation_failed" if schema_refuses else "wechat_code_invalid")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.kind == "resident")) == 0


def test_wechat_dev_adapter_is_refused_in_production(app, client, monkeypatch, envelope):
    monkeypatch.setitem(app.config, "ENV", "production")
    envelope(client.post("/api/v1/auth/wechat", json={"code": "abc"}), 503, "wechat_unavailable")


@pytest.fixture
def wechat(app, monkeypatch, serve):
    """A stand-in for api.weixin.qq.com's code2session, answering by js_code."""
    seen = []
    answers = {
        "good": {"openid": "oWx-123", "session_key": "k", "unionid": "u"},
        "used": {"errcode": 40163, "errmsg": "code been used"},
        "busy": {"errcode": -1, "errmsg": "system error"},
        "list": [],
    }

    @Request.application
    def code2session(request):
        seen.append(dict(request.args))
        return Response(json.dumps(answers[request.args["js_code"]]), content_type="text/plain")

    url = serve(code2session)
    monkeypatch.setitem(app.config, "WECHAT_ADAPTER", "wechat")
    monkeypatch.setitem(app.config, "WECHAT_APPID", "wx0123456789")
    monkeypatch.setitem(app.config, "WECHAT_SECRET", "s3cret")
    monkeypatch.setitem(app.config, "WECHAT_CODE2SESSION_URL", f"{url}/sns/jscode2session")
    return seen


def test_wechat_login_exchanges_the_code_for_an_openid(client, wechat):
    resp = client.post("/api/v1/auth/wechat", json={"code": "good"})
    assert resp.status_code == 200
    assert resp.get_json()["created"] is True
    assert db.session.scalar(sa.select(User.wechat_openid)) == "oWx-123"
    assert wechat == [{"appid": "wx0123456789", "secret": "s3cret", "js_code": "good",
                       "grant_type": "authorization_code"}]


def test_wechat_errcode_is_a_401(client, wechat, envelope):
    err = envelope(client.post("/api/v1/auth/wechat", json={"code": "used"}), 401, "wechat_code_used")
    assert err["details"] == {"errcode": 40163}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_wechat_busy_is_a_503(client, wechat, envelope):
    envelope(client.post("/api/v1/auth/wechat", json={"code": "busy"}), 503, "wechat_unavailable")


def test_wechat_odd_answer_is_a_503(client, wechat, envelope):
    envelope(client.post("/api/v1/auth/wechat", json={"code": "list"}), 503, "wechat_unavailable")


def test_wechat_unreachable_is_a_503(app, client, monkeypatch, envelope):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setitem(app.config, "WECHAT_ADAPTER", "wechat")
    monkeypatch.setitem(app.config, "WECHAT_CODE2SESSION_URL", f"http://127.0.0.1:{port}/sns/jscode2session")
    envelope(client.post("/api/v1/auth/wechat", json={"code": "good"}), 503, "wechat_unavailable")


# --- scoped permissions ---------------------------------------------------------------------------

@pytest.fixture
def two_compounds(factory):
    """Two compounds in one community, and a compound in another community."""
    from civic.property import service as reg

    here = factory.ladder()
    next_door = reg.create_place(kind="compound", code="C-next", name="隔壁小区", parent=here["community"])
    elsewhere = factory.ladder()
    factory.commit()
    return here, next_door, elsewhere


def test_property_company_acts_only_on_the_compounds_it_serves(factory, two_compounds):
    here, next_door, elsewhere = two_compounds
    company = factory.org("property_company", [here["compound"]])
    staff = factory.staff(company)
    assert require_coverage(staff, here["compound"].id).id == company.id
    assert require_coverage(staff, here["units"][0].id).id == company.id
    for place in (next_door, elsewhere["compound"], here["community"]):
        with pytest.raises(Forbidden) as exc:
            require_coverage(staff, place.id)
        assert (exc.value.code, exc.value.details) == ("out_of_scope", {"place_id": place.id})


def test_residents_committee_acts_only_in_its_community(factory, two_compounds):
    here, next_door, elsewhere = two_compounds
    committee = factory.org("residents_committee", [here["community"]])
    staff = factory.staff(committee)
    assert require_coverage(staff, next_door.id).id == committee.id
    assert require_coverage(staff, here["units"][1].id).id == committee.id
    with pytest.raises(Forbidden):
        require_coverage(staff, elsewhere["compound"].id)


def test_coverage_can_be_limited_to_organisation_kinds(factory, two_compounds):
    here, _, _ = two_compounds
    staff = factory.staff(factory.org("property_company", [here["compound"]]))
    with pytest.raises(Forbidden):
        require_coverage(staff, here["compound"].id, org_kinds=("residents_committee",))


def test_membership_is_checked_by_organisation_and_role(factory, two_compounds):
    here, _, _ = two_compounds
    company = factory.org("property_company", [here["compound"]])
    committee = factory.org("residents_committee", [here["community"]])
    handler = factory.staff(company, role="handler")
    assert require_membership(handler, company.id).role == "handler"
    with pytest.raises(Forbidden) as exc:
        require_membership(handler, committee.id)
    assert exc.value.code == "not_a_member"
    with pytest.raises(Forbidden):
        require_membership(handler, company.id, roles=("head",))


def test_residents_have_no_staff_scope(factory, two_compounds):
    here, _, _ = two_compounds
    resident = factory.resident(units=[here["units"][0]])
    with pytest.raises(Forbidden):
        require_coverage(resident, here["units"][0].id)


def test_administrators_pass_every_scope(factory, two_compounds):
    _, _, elsewhere = two_compounds
    admin = factory.admin()
    assert require_coverage(admin, elsewhere["compound"].id) is None
    assert require_membership(admin, 12345) is None




def test_password_change_through_the_api_ends_the_other_logins(client, factory, envelope):
    user = factory.staff(username="pw_api")
    mine, other = factory.token(user), factory.token(user)
    r = client.post("/api/v1/auth/password", headers=mine,
                    json={"old_password": "test-pass-123", "new_password": "another-pass-2026"})
    assert r.status_code == 204
    assert client.get("/api/v1/me", headers=mine).status_code == 200
    envelope(client.get("/api/v1/me", headers=other), 401, "token_revoked")
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "auth.password_changed")).one()
    assert entry.data == {"logins_ended": 1}
    assert _login(client, "pw_api", "another-pass-2026").status_code == 200
