"""One-time codes by SMS: the adapters, what their vendors' answers mean, and the retry job.

``CIVIC_SMS_ADAPTER`` chooses the adapter:

- ``dev``: writes the code to the log (development and tests; refused in production);
- ``none``: phone login off, every request answers 503 ``sms_unavailable``;
- ``aliyun``: Alibaba Cloud SMS, ``SendSms`` of API 2017-05-25, through the official SDK
  (``alibabacloud-dysmsapi20170525``), signed with the RPC HMAC-SHA1 ``Signature``;
- ``tencent``: Tencent Cloud SMS, ``SendSms`` of API 2021-01-11, through the official SDK
  (``tencentcloud-sdk-python-sms``), signed TC3-HMAC-SHA256.

Settings (docs/deploy.md, "SMS"): ``SMS_ACCESS_KEY_ID`` / ``SMS_ACCESS_KEY_SECRET`` (Aliyun's
AccessKey, Tencent's SecretId / SecretKey), ``SMS_SIGN_NAME`` (the approved signature, e.g.
``浦东社区``), ``SMS_TEMPLATE`` (Aliyun's template code ``SMS_123456789``, Tencent's template id),
``SMS_TEMPLATE_PARAMS`` (the template's variables, in order, among ``code`` and ``minutes``),
``SMS_SDK_APP_ID`` (Tencent only), ``SMS_REGION``, ``SMS_ENDPOINT`` (a URL overriding the vendor's
host: a regional or private endpoint, or the tests' local server), ``SMS_TIMEOUT_SECONDS``.

What an answer means is one table per vendor (:data:`ALIYUN_CODES`, :data:`TENCENT_CODES`) of
*kinds* (:data:`KINDS`): a refused number is the resident's 422, a vendor's per-number limit their
429, a key, signature, template or balance fault the operator's 503 ``sms_misconfigured`` (logged
as an error: nothing a resident can do), and throttling, a vendor's 5xx or a network fault is
*transient*: the request still answers (the code is on its way) and a job sends it again through
the queue (:func:`resend_code`, backing off 10 s, 1 min, 5 min) while the code is still the
phone's latest and unexpired.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import current_app

from civic.core import parts
from civic.core.errors import CivicError, RateLimited, ValidationFailed

log = logging.getLogger(__name__)

ADAPTER_SETTINGS = ("SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME", "SMS_TEMPLATE")

parts.register(parts.Part(
    "sms", "SMS_ADAPTER",
    development={"dev": "writes every one-time code to the log instead of sending it"},
    choices={"aliyun": ADAPTER_SETTINGS, "tencent": (*ADAPTER_SETTINGS, "SMS_SDK_APP_ID"), "none": ()},
    hint="set it to aliyun or tencent (with CIVIC_SMS_ACCESS_KEY_ID, CIVIC_SMS_ACCESS_KEY_SECRET, "
         "CIVIC_SMS_SIGN_NAME, CIVIC_SMS_TEMPLATE), or to none to turn phone login off (503 sms_unavailable)"))


class SmsFailed(Exception):
    """The vendor did not send the message.  ``kind`` is one of :data:`KINDS`; ``code`` the
    vendor's own error code (``isv.MOBILE_NUMBER_ILLEGAL``)."""

    def __init__(self, kind: str, code: str, message: str = ""):
        super().__init__(f"{code}: {message}"[:500])
        self.kind, self.code = kind, code


# kind → the civic error a resident gets (None: transient, sent again by a job).
KINDS: dict[str, Callable[[SmsFailed], CivicError] | None] = {
    "phone": lambda e: ValidationFailed("手机号无效，无法接收短信", code="phone_invalid",
                                        details={"vendor_code": e.code}),
    "limited": lambda e: RateLimited("该手机号今日接收验证码过多，请稍后再试", code="sms_rate_limited",
                                     details={"vendor_code": e.code}),
    "config": lambda e: CivicError("短信服务配置有误，请联系管理员", code="sms_misconfigured", status=503),
    "failed": lambda e: CivicError("短信发送失败，请稍后再试", code="sms_failed", status=503),
    "transient": None,
}

# Alibaba Cloud: SendSms's error codes (help.aliyun.com, 短信服务 API 错误码) and the gateway's common
# ones.  A code not listed falls back on its prefix (the part before the first dot), then "failed".
ALIYUN_CODES = {
    "isv.MOBILE_NUMBER_ILLEGAL": "phone",
    "isv.MOBILE_COUNT_OVER_LIMIT": "phone",
    "isv.BLACK_KEY_CONTROL_LIMIT": "phone",
    "isv.BUSINESS_LIMIT_CONTROL": "limited",   # per number: 1 a minute, 5 an hour, 10 a day by default
    "isv.DAY_LIMIT_CONTROL": "limited",
    "isv.OUT_OF_SERVICE": "config",            # account in arrears
    "isv.AMOUNT_NOT_ENOUGH": "config",
    "isv.SMS_SIGNATURE_ILLEGAL": "config",
    "isv.SMS_SIGN_ILLEGAL": "config",
    "isv.SMS_TEMPLATE_ILLEGAL": "config",
    "isv.TEMPLATE_MISSING_PARAMETERS": "config",
    "isv.TEMPLATE_PARAMS_ILLEGAL": "config",
    "isv.INVALID_PARAMETERS": "config",
    "isv.INVALID_JSON_PARAM": "config",
    "isv.ACCOUNT_NOT_EXISTS": "config",
    "isv.ACCOUNT_ABNORMAL": "config",
    "isv.PRODUCT_UN_SUBSCRIPT": "config",
    "isv.PRODUCT_UNSUBSCRIBE": "config",
    "isp.RAM_PERMISSION_DENY": "config",
    "SignatureDoesNotMatch": "config",
    "IncompleteSignature": "config",
    "InvalidAccessKeyId.NotFound": "config",
    "InvalidAccessKeyId.Inactive": "config",
    "Forbidden.RAM": "config",
    "isp.SYSTEM_ERROR": "transient",
    "isv.SYSTEM_ERROR": "transient",
    "SignatureNonceUsed": "transient",         # a nonce clash: a new request has a new nonce
    "ServiceUnavailable": "transient",
    "InternalError": "transient",
}
ALIYUN_PREFIXES = {"Throttling": "transient", "InvalidAccessKeyId": "config", "Forbidden": "config"}

# Tencent Cloud: SendSms's error codes (cloud.tencent.com/document/api/382/55981) and the common ones
# (cloud.tencent.com/document/api/382/52075).
TENCENT_CODES = {
    "InvalidParameterValue.IncorrectPhoneNumber": "phone",
    "FailedOperation.PhoneNumberInBlacklist": "phone",
    "FailedOperation.PhoneNumberParseFail": "phone",
    "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber": "phone",
    "UnsupportedOperation.UnsupportedRegion": "phone",
    "LimitExceeded.PhoneNumberDailyLimit": "limited",
    "LimitExceeded.PhoneNumberOneHourLimit": "limited",
    "LimitExceeded.PhoneNumberThirtySecondLimit": "limited",
    "LimitExceeded.PhoneNumberSameContentDailyLimit": "limited",
    "LimitExceeded.DeliveryFrequencyLimit": "limited",
    "LimitExceeded.AppDailyLimit": "config",
    "LimitExceeded.AppGlobalDailyLimit": "config",
    "LimitExceeded.AppMainlandChinaDailyLimit": "config",
    "LimitExceeded.DailyLimit": "config",
    "RequestLimitExceeded": "transient",       # the API's own calls-per-second limit
    "FailedOperation.FailResolvePacket": "transient",
    "FailedOperation.JsonParseFail": "config",
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail": "config",
}
TENCENT_PREFIXES = {"AuthFailure": "config", "UnauthorizedOperation": "config", "FailedOperation": "config",
                    "InvalidParameterValue": "config", "InvalidParameter": "config",
                    "MissingParameter": "config", "InternalError": "transient", "LimitExceeded": "limited",
                    # the SDK's own: a non-200 answer, or no answer at all
                    "ServerNetworkError": "transient", "ClientNetworkError": "transient"}


def classify(code: str, codes: dict[str, str], prefixes: dict[str, str]) -> str:
    """The kind (:data:`KINDS`) of a vendor's error ``code``."""
    if code in codes:
        return codes[code]
    return prefixes.get(code.split(".", 1)[0], "failed")


def _endpoint(default_host: str) -> tuple[str, str]:
    """``(scheme, host[:port])`` from ``SMS_ENDPOINT`` (a URL), or the vendor's host over https."""
    url = current_app.config.get("SMS_ENDPOINT") or ""
    if not url:
        return "https", default_host
    parts_ = urlsplit(url if "//" in url else f"https://{url}")
    return parts_.scheme or "https", parts_.netloc


def _template_values(code: str, minutes: int) -> list[tuple[str, str]]:
    names = [n.strip() for n in str(current_app.config.get("SMS_TEMPLATE_PARAMS") or "code").split(",") if n.strip()]
    values = {"code": code, "minutes": str(minutes)}
    return [(n, values[n]) for n in names if n in values]


def _send_aliyun(phone: str, code: str, minutes: int) -> str:
    from alibabacloud_dysmsapi20170525 import models as sms_models
    from alibabacloud_dysmsapi20170525.client import Client
    from alibabacloud_tea_openapi.utils_models import Config
    from darabonba.exceptions import DaraException, UnretryableException
    from darabonba.runtime import RuntimeOptions

    cfg = current_app.config
    scheme, host = _endpoint("dysmsapi.aliyuncs.com")
    timeout_ms = int(cfg["SMS_TIMEOUT_SECONDS"] * 1000)
    # signature_algorithm "v2": the RPC style with the HMAC-SHA1 ``Signature`` parameter that
    # SendSms 2017-05-25 documents (the SDK's default is the newer ACS3 header signature).
    client = Client(Config(access_key_id=cfg["SMS_ACCESS_KEY_ID"], access_key_secret=cfg["SMS_ACCESS_KEY_SECRET"],
                           region_id=cfg["SMS_REGION"] or "cn-hangzhou", endpoint=host, protocol=scheme,
                           signature_algorithm="v2", connect_timeout=timeout_ms, read_timeout=timeout_ms))
    request = sms_models.SendSmsRequest(
        phone_numbers=phone, sign_name=cfg["SMS_SIGN_NAME"], template_code=cfg["SMS_TEMPLATE"],
        template_param=json.dumps(dict(_template_values(code, minutes)), ensure_ascii=False))
    try:
        # No retry inside the SDK: the job queue retries, with back-off and across restarts.
        answer = client.send_sms_with_options(request, RuntimeOptions(autoretry=False)).body
    except UnretryableException as exc:  # no answer: connection refused, timeout
        raise SmsFailed("transient", "NetworkError", str(exc)) from exc
    except DaraException as exc:  # an HTTP 4xx/5xx with the gateway's {Code, Message}
        code_ = str(getattr(exc, "code", "") or "")
        status = getattr(exc, "status_code", None) or 0
        kind = classify(code_, ALIYUN_CODES, ALIYUN_PREFIXES)
        if kind == "failed" and status >= 500:
            kind = "transient"
        raise SmsFailed(kind, code_ or f"HTTP{status}", getattr(exc, "message", "") or str(exc)) from exc
    except OSError as exc:
        raise SmsFailed("transient", "NetworkError", str(exc)) from exc
    if answer is None or answer.code != "OK":
        vendor_code = (answer.code if answer else None) or "NoAnswer"
        raise SmsFailed(classify(vendor_code, ALIYUN_CODES, ALIYUN_PREFIXES), vendor_code,
                        (answer.message if answer else "") or "")
    return answer.biz_id or ""


def _send_tencent(phone: str, code: str, minutes: int) -> str:
    from tencentcloud.common import credential
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.sms.v20210111 import models, sms_client

    cfg = current_app.config
    scheme, host = _endpoint("sms.tencentcloudapi.com")
    http = HttpProfile(protocol=scheme, endpoint=host, reqTimeout=int(cfg["SMS_TIMEOUT_SECONDS"]))
    client = sms_client.SmsClient(credential.Credential(cfg["SMS_ACCESS_KEY_ID"], cfg["SMS_ACCESS_KEY_SECRET"]),
                                  cfg["SMS_REGION"] or "ap-guangzhou", ClientProfile(httpProfile=http))
    req = models.SendSmsRequest()
    req.PhoneNumberSet = [f"+86{phone}"]  # E.164, as SendSms asks
    req.SmsSdkAppId = str(cfg["SMS_SDK_APP_ID"])
    req.SignName = cfg["SMS_SIGN_NAME"]
    req.TemplateId = str(cfg["SMS_TEMPLATE"])
    req.TemplateParamSet = [v for _, v in _template_values(code, minutes)]
    try:
        answer = client.SendSms(req)
    except TencentCloudSDKException as exc:  # the request as a whole: {"Response": {"Error": ...}}
        code_ = str(exc.get_code() or "")
        raise SmsFailed(classify(code_, TENCENT_CODES, TENCENT_PREFIXES), code_, str(exc.get_message())) from exc
    except OSError as exc:
        raise SmsFailed("transient", "NetworkError", str(exc)) from exc
    status = (answer.SendStatusSet or [None])[0]
    if status is None or status.Code != "Ok":  # one number's fate: SendStatusSet[i].Code
        vendor_code = (status.Code if status else None) or "NoAnswer"
        raise SmsFailed(classify(vendor_code, TENCENT_CODES, TENCENT_PREFIXES), vendor_code,
                        (status.Message if status else "") or "")
    return status.SerialNo or ""


def _send_dev(phone: str, code: str, minutes: int) -> str:
    log.warning("DEV SMS to %s: 【civic】您的验证码是 %s，%d 分钟内有效。", phone, code, minutes)
    return "dev"


ADAPTERS: dict[str, Callable[[str, str, int], str]] = {
    "aliyun": _send_aliyun, "tencent": _send_tencent, "dev": _send_dev}


def ready() -> None:
    """Refuse at once when no adapter can send: ``none``, or ``dev`` in production (create_app
    refuses that already, civic.core.parts: this is the second guard).

    :raises CivicError: 503 ``sms_unavailable``."""
    cfg = current_app.config
    adapter = cfg["SMS_ADAPTER"]
    if adapter not in ADAPTERS or (adapter == "dev" and cfg["ENV"] == "production"):
        raise CivicError("短信服务未配置", code="sms_unavailable", status=503)


def send_code(phone: str, code: str, minutes: int) -> str:
    """Send one one-time code with the configured adapter.  Returns the vendor's message id
    (Aliyun's ``BizId``, Tencent's ``SerialNo``).

    :param phone: 11 mainland digits (``normalise_phone``).  :param minutes: the code's lifetime,
        for templates that say it.
    :raises SmsFailed: with its kind, when the vendor did not send it.
    """
    ready()
    return ADAPTERS[current_app.config["SMS_ADAPTER"]](phone, code, minutes)


def civic_error(exc: SmsFailed) -> CivicError | None:
    """The resident's error for a vendor's refusal; ``None`` when it is transient (send again).
    Faults of the operator's set-up are logged as errors here."""
    if exc.kind == "config":
        log.error("SMS adapter %s refused its configuration: %s", current_app.config["SMS_ADAPTER"], exc)
    make = KINDS.get(exc.kind, KINDS["failed"])
    return make(exc) if make else None


def resend_code(challenge_id: int, phone: str, code: str, minutes: int) -> str:
    """Job: send a code again after a transient failure.  Sends only while ``challenge_id`` is the
    phone's latest challenge, unused and unexpired (a code that can no longer log in is never sent).
    Returns ``"sent"``, ``"stale"`` or ``"refused"``; raises :class:`SmsFailed` on a transient
    failure, so the queue tries again with back-off.

    The code travels in the job's arguments (the queue or the ``deferred_job`` row) for at most
    its lifetime (``OTP_TTL_SECONDS``): the challenge itself stores only its HMAC.
    """
    from civic.accounts.service import otp_still_wanted

    if not otp_still_wanted(challenge_id):
        return "stale"
    try:
        send_code(phone, code, minutes)
    except SmsFailed as exc:
        if exc.kind == "transient":
            log.warning("SMS to challenge %s failed again, will retry: %s", challenge_id, exc)
            raise
        civic_error(exc)
        log.warning("SMS to challenge %s refused: %s", challenge_id, exc)
        return "refused"
    return "sent"
