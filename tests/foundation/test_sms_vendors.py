"""Real SMS for one-time codes (issue #17 point 2): the Alibaba Cloud and Tencent Cloud adapters.

Each adapter's official SDK talks HTTP to a local server playing the vendor's documented API
(tests/vendors.py), which checks the signature with the same secret.  Tested per vendor: a code
that logs in, every mapped error, a transient error sent again by the job queue, a wrong secret.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from civic.accounts.models import OtpChallenge
from civic.core import parts
from civic.extensions import db
from tests.jobs import drain
from tests.vendors import AliyunSms, TencentSms

KEY_ID, SECRET = "LTAI5tTestKeyId0001", "aliyun-secret-0001"


@pytest.fixture(scope="module")
def aliyun_server():
    server = AliyunSms({KEY_ID: SECRET})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tencent_server():
    server = TencentSms({"AKIDtestSecretId0001": "tencent-secret-key-0001"})
    yield server
    server.stop()


def _configure(monkeypatch, app, **settings):
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)


@pytest.fixture(params=["aliyun", "tencent"])
def vendor(request, app, monkeypatch, aliyun_server, tencent_server):
    """The app configured for one vendor, with its server's script and log emptied."""
    if request.param == "aliyun":
        server = aliyun_server
        _configure(monkeypatch, app, SMS_ADAPTER="aliyun", SMS_ACCESS_KEY_ID=KEY_ID, SMS_ACCESS_KEY_SECRET=SECRET,
                   SMS_SIGN_NAME="浦东社区", SMS_TEMPLATE="SMS_154950909", SMS_TEMPLATE_PARAMS="code",
                   SMS_REGION="cn-hangzhou", SMS_ENDPOINT=server.url)
    else:
        server = tencent_server
        _configure(monkeypatch, app, SMS_ADAPTER="tencent", SMS_ACCESS_KEY_ID="AKIDtestSecretId0001",
                   SMS_ACCESS_KEY_SECRET="tencent-secret-key-0001", SMS_SIGN_NAME="浦东社区",
                   SMS_TEMPLATE="1234567", SMS_SDK_APP_ID="1400006666", SMS_TEMPLATE_PARAMS="code,minutes",
                   SMS_REGION="ap-guangzhou", SMS_ENDPOINT=server.url)
    server.script.clear()
    server.sent.clear()
    server.requests.clear()
    server.name = request.param
    return server


def _code_sent(server, phone):
    found = [s for s in server.sent if s["phone"].endswith(phone)]
    assert found, f"nothing delivered to {phone}"
    p = found[-1]["params"]
    return p["code"] if isinstance(p, dict) else p[0]


def _request(client, phone):
    return client.post("/api/v1/auth/otp", json={"phone": phone})


def test_a_code_sent_by_the_vendor_logs_in(client, vendor):
    resp = _request(client, "13900005501")
    assert resp.status_code == 202, resp.get_json()
    sent = vendor.sent[-1]
    assert sent["sign"] == "浦东社区"
    if vendor.name == "aliyun":
        assert sent["phone"] == "13900005501" and sent["template"] == "SMS_154950909"
        assert list(sent["params"]) == ["code"]
    else:
        assert sent["phone"] == "+8613900005501" and sent["template"] == "1234567" and sent["app"] == "1400006666"
        assert sent["params"][1] == "5"  # minutes, the template's second variable
    code = _code_sent(vendor, "13900005501")
    login = client.post("/api/v1/auth/otp/verify", json={"phone": "13900005501", "code": code})
    assert login.status_code == 200 and login.get_json()["token"]


# (vendor, vendor's code) → (civic status, civic code)
MAPPED = [
    ("aliyun", "isv.MOBILE_NUMBER_ILLEGAL", 422, "phone_invalid"),
    ("aliyun", "isv.BUSINESS_LIMIT_CONTROL", 429, "sms_rate_limited"),
    ("aliyun", "isv.DAY_LIMIT_CONTROL", 429, "sms_rate_limited"),
    ("aliyun", "isv.SMS_TEMPLATE_ILLEGAL", 503, "sms_misconfigured"),
    ("aliyun", "isv.SMS_SIGNATURE_ILLEGAL", 503, "sms_misconfigured"),
    ("aliyun", "isv.AMOUNT_NOT_ENOUGH", 503, "sms_misconfigured"),
    ("aliyun", "isv.SOMETHING_NEW", 503, "sms_failed"),
    ("tencent", "InvalidParameterValue.IncorrectPhoneNumber", 422, "phone_invalid"),
    ("tencent", "FailedOperation.PhoneNumberInBlacklist", 422, "phone_invalid"),
    ("tencent", "LimitExceeded.PhoneNumberDailyLimit", 429, "sms_rate_limited"),
    ("tencent", "LimitExceeded.PhoneNumberThirtySecondLimit", 429, "sms_rate_limited"),
    ("tencent", "FailedOperation.SignatureIncorrectOrUnapproved", 503, "sms_misconfigured"),
    ("tencent", "FailedOperation.TemplateIncorrectOrUnapproved", 503, "sms_misconfigured"),
    ("tencent", "FailedOperation.InsufficientBalanceInSmsPackage", 503, "sms_misconfigured"),
    ("tencent", "UnauthorizedOperation.SmsSdkAppIdVerifyFail", 503, "sms_misconfigured"),
]


@pytest.mark.parametrize(("vendor", "vendor_code", "status", "code"), MAPPED, indirect=["vendor"])
def test_each_vendor_error_is_a_civic_error_and_leaves_no_challenge(client, vendor, vendor_code, status, code):
    vendor.script.append(vendor_code)
    resp = _request(client, "13900005502")
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["error"]["code"] == code
    # The refusal rolled the challenge back: the resident may ask again at once.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OtpChallenge)
                             .where(OtpChallenge.phone == "13900005502")) == 0
    assert vendor.sent == []


TRANSIENT = {"aliyun": ["Throttling.User", "ServiceUnavailable", "isp.SYSTEM_ERROR"],
             "tencent": ["RequestLimitExceeded", "InternalError.Timeout", "InternalError.SendAndRecvFail"]}


@pytest.mark.parametrize("index", [0, 1, 2])
def test_a_transient_error_is_sent_again_by_the_job_queue(client, vendor, index):
    vendor.script.append(TRANSIENT[vendor.name][index])  # first answer: throttled/busy, then OK
    resp = _request(client, "13900005503")
    assert resp.status_code == 202, resp.get_json()
    drain()  # with Redis, a worker runs the retry job
    # The in-process queue ran the retry job after the commit: two calls, one delivery.
    assert len(vendor.requests) == 2 and len(vendor.sent) == 1
    code = _code_sent(vendor, "13900005503")
    assert client.post("/api/v1/auth/otp/verify", json={"phone": "13900005503", "code": code}).status_code == 200


def test_a_retry_sends_nothing_once_the_code_is_no_longer_the_latest(app, client, vendor):
    from civic.accounts import sms

    vendor.script.append(TRANSIENT[vendor.name][0])
    vendor.script.append(TRANSIENT[vendor.name][0])  # the retry job fails too: it will be tried later
    assert _request(client, "13900005504").status_code == 202
    drain()
    first = db.session.scalar(sa.select(sa.func.max(OtpChallenge.id)).where(OtpChallenge.phone == "13900005504"))
    assert vendor.sent == []
    ch = db.session.get(OtpChallenge, first)
    ch.created_at = ch.created_at.replace(year=ch.created_at.year - 1)  # past the resend interval
    db.session.commit()
    assert _request(client, "13900005504").status_code == 202  # a new code, delivered at once
    assert len(vendor.sent) == 1
    with app.app_context():
        assert sms.resend_code(first, "13900005504", "000000", 5) == "stale"
    assert len(vendor.sent) == 1


def test_a_wrong_secret_is_a_configuration_error(client, vendor, app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "SMS_ACCESS_KEY_SECRET", "not-the-secret")
    resp = _request(client, "13900005505")
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "sms_misconfigured"
    # The server refused the signature it recomputed with the real secret.
    assert vendor.sent == [] and len(vendor.requests) == 1
    expected = "SignatureDoesNotMatch" if vendor.name == "aliyun" else "AuthFailure.SignatureFailure"
    assert any(expected in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


def test_an_unknown_key_is_a_configuration_error(client, vendor, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_ACCESS_KEY_ID", "LTAInobodyHasThisKey")
    resp = _request(client, "13900005506")
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "sms_misconfigured"


def test_no_answer_at_all_is_retried_then_given_up_quietly(client, vendor, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_ENDPOINT", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setitem(app.config, "SMS_TIMEOUT_SECONDS", 1)
    resp = _request(client, "13900005507")
    assert resp.status_code == 202  # the code is on its way: the queue keeps trying
    assert vendor.requests == []


def test_production_accepts_both_vendors_with_their_settings_and_names_what_is_missing(make_app):
    base = {"ENV": "production", "SECRET_KEY": "k9V2-a-long-random-secret-from-the-vault-0f3c9e",
            "WECHAT_ADAPTER": "wechat", "WECHAT_APPID": "wx0123456789abcdef", "WECHAT_SECRET": "s",
            "NOTIFY_ADAPTER": "wechat"}
    keys = {"SMS_ACCESS_KEY_ID": "id", "SMS_ACCESS_KEY_SECRET": "secret", "SMS_SIGN_NAME": "浦东社区",
            "SMS_TEMPLATE": "SMS_1"}
    assert make_app({**base, "SMS_ADAPTER": "aliyun", **keys}).config["SMS_ADAPTER"] == "aliyun"
    assert make_app({**base, "SMS_ADAPTER": "tencent", **keys, "SMS_SDK_APP_ID": "1400006666"})
    with pytest.raises(parts.ProductionRefused, match="CIVIC_SMS_SDK_APP_ID"):
        make_app({**base, "SMS_ADAPTER": "tencent", **keys})
    with pytest.raises(parts.ProductionRefused, match="CIVIC_SMS_TEMPLATE"):
        make_app({**base, "SMS_ADAPTER": "aliyun", **{k: v for k, v in keys.items() if k != "SMS_TEMPLATE"}})


def test_concurrent_requests_for_one_phone_send_one_code(app, vendor, serve):
    # Eight clients at once over real HTTP, no Idempotency-Key: one challenge, one SMS, the
    # others told to wait (otp_too_soon).  The send happens inside the request, so without the
    # per-phone serialisation each would send its own code.
    import json
    import urllib.error
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    url = serve(app) + "/api/v1/auth/otp"

    def post(_):
        req = urllib.request.Request(url, data=json.dumps({"phone": "13900005508"}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(post, range(8)))
    assert statuses == [202] + [429] * 7
    assert len(vendor.sent) == 1
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OtpChallenge)
                             .where(OtpChallenge.phone == "13900005508")) == 1
