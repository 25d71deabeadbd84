"""Local servers that play the vendors' documented APIs, for the SMS and WeChat adapters' tests.

Each is a small WSGI app served by wsgiref on a free port of 127.0.0.1, in a thread.  It checks
what the vendor checks (the request's shape and its signature, computed here independently with
the same secret), answers in the vendor's documented shapes, and records what it was asked.
``script`` is a list of answers to give next, in order (an error code, or a callable); once it is
empty the server answers success.

- :class:`AliyunSms`: Alibaba Cloud RPC style, ``SendSms`` 2017-05-25.  Signature: HMAC-SHA1 over
  ``METHOD&%2F&percent(canonicalised query)`` with ``secret + "&"``, base64 (help.aliyun.com, "RPC
  风格请求签名").  Business errors answer HTTP 200 ``{"Code": "isv....", "Message", "RequestId"}``;
  gateway errors HTTP 4xx/5xx ``{"Code", "Message", "RequestId", "HostId", "Recommend"}``.
- :class:`TencentSms`: Tencent Cloud API 3.0, ``SendSms`` 2021-01-11.  Signature TC3-HMAC-SHA256
  (cloud.tencent.com/document/api/382/52072).  Every answer is HTTP 200 ``{"Response": {...}}``: a
  request-level error as ``Response.Error {Code, Message}``, a number's fate as
  ``Response.SendStatusSet[i].Code`` (``"Ok"``).
- :class:`WeChatApi`: ``GET /cgi-bin/token``, ``POST /cgi-bin/stable_token``, ``GET
  /sns/jscode2session``, ``POST /cgi-bin/message/subscribe/send?access_token=``; ``{"errcode",
  "errmsg"}`` on error (developers.weixin.qq.com, 小程序服务端 API).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import urllib.parse
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class _ThreadedServer(WSGIServer):
    daemon_threads = True

    def process_request(self, request, client_address):
        t = threading.Thread(target=self._handle, args=(request, client_address), daemon=True)
        t.start()

    def _handle(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)


class VendorServer:
    """Base: start/stop on a free port, a script of answers, a log of requests."""

    content_type = "application/json;charset=utf-8"

    def __init__(self):
        self.script: list = []
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.httpd = make_server("127.0.0.1", 0, self.wsgi, server_class=_ThreadedServer, handler_class=_Quiet)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def next_scripted(self):
        with self.lock:
            return self.script.pop(0) if self.script else None

    def wsgi(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        status, answer = self.handle(environ, body)
        data = json.dumps(answer, ensure_ascii=False).encode()
        start_response(f"{status} X", [("Content-Type", self.content_type),
                                       ("Content-Length", str(len(data)))])
        return [data]

    def handle(self, environ, body: bytes) -> tuple[int, dict]:  # pragma: no cover
        raise NotImplementedError


def _request_id() -> str:
    return secrets.token_hex(16).upper()


# --- Alibaba Cloud SMS ---------------------------------------------------------------------------

def aliyun_percent(value: str) -> str:
    # RFC 3986 with the RPC rules: space → %20, * → %2A, ~ kept.
    return urllib.parse.quote(value, safe="~")


def aliyun_signature(params: dict[str, str], method: str, secret: str) -> str:
    canonical = "&".join(f"{aliyun_percent(k)}={aliyun_percent(v)}" for k, v in sorted(params.items())
                         if k != "Signature")
    to_sign = f"{method}&{aliyun_percent('/')}&{aliyun_percent(canonical)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


class AliyunSms(VendorServer):
    # HTTP status of the gateway's own errors (the business ones answer 200).
    GATEWAY = {"SignatureDoesNotMatch": 400, "InvalidAccessKeyId.NotFound": 404, "Throttling.User": 400,
               "ServiceUnavailable": 503, "InternalError": 500, "MissingParameter": 400,
               "SignatureNonceUsed": 400, "InvalidTimeStamp.Expired": 400}

    def __init__(self, keys: dict[str, str]):
        self.keys = keys  # AccessKeyId → secret
        self.nonces: set[str] = set()
        self.sent: list[dict] = []
        super().__init__()

    def _gateway_error(self, code: str, message: str) -> tuple[int, dict]:
        return self.GATEWAY[code], {"RequestId": _request_id(), "HostId": "dysmsapi.aliyuncs.com",
                                    "Code": code, "Message": message,
                                    "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}"}

    def handle(self, environ, body):
        params = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            params.update(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        self.requests.append(params)
        for need in ("Action", "Version", "Format", "AccessKeyId", "Signature", "SignatureMethod",
                     "SignatureVersion", "SignatureNonce", "Timestamp"):
            if not params.get(need):
                return self._gateway_error("MissingParameter", f"The input parameter \"{need}\" that is mandatory "
                                                               "for processing this request is not supplied.")
        if params["Action"] != "SendSms" or params["Version"] != "2017-05-25" or environ["PATH_INFO"] != "/":
            return 404, {"RequestId": _request_id(), "Code": "InvalidAction.NotFound",
                         "Message": "Specified api is not found, please check your url and method."}
        secret = self.keys.get(params["AccessKeyId"])
        if secret is None:
            return self._gateway_error("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        assert params["SignatureMethod"] == "HMAC-SHA1" and params["SignatureVersion"] == "1.0"
        expected = aliyun_signature(params, environ["REQUEST_METHOD"], secret)
        if not hmac.compare_digest(expected, params["Signature"]):
            return self._gateway_error("SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        stamp = dt.datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        if abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) > 900:
            return self._gateway_error("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        if params["SignatureNonce"] in self.nonces:
            return self._gateway_error("SignatureNonceUsed", "Specified signature nonce was used already.")
        self.nonces.add(params["SignatureNonce"])
        for need in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(need):
                return 200, {"Code": "isv.INVALID_PARAMETERS", "Message": f"{need} is mandatory",
                             "RequestId": _request_id()}
        scripted = self.next_scripted()
        if scripted is not None:
            if scripted in self.GATEWAY:
                return self._gateway_error(scripted, "scripted")
            return 200, {"Code": scripted, "Message": "scripted", "RequestId": _request_id()}
        biz_id = f"{secrets.randbelow(10**18):018d}^0"
        self.sent.append({"phone": params["PhoneNumbers"], "sign": params["SignName"],
                          "template": params["TemplateCode"],
                          "params": json.loads(params.get("TemplateParam") or "{}"), "biz_id": biz_id})
        return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": _request_id()}


# --- Tencent Cloud SMS ---------------------------------------------------------------------------

def tc3_signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    def _hmac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    k = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    return hmac.new(k, string_to_sign.encode(), hashlib.sha256).hexdigest()


class TencentSms(VendorServer):
    # Where a scripted code answers: the whole request (Response.Error) or the number (SendStatusSet).
    content_type = "application/json"  # exactly: the SDK reads Response.Error only under this type
    REQUEST_LEVEL = ("AuthFailure", "InternalError", "RequestLimitExceeded", "UnauthorizedOperation",
                     "MissingParameter", "InvalidParameter.")

    def __init__(self, keys: dict[str, str]):
        self.keys = keys  # SecretId → SecretKey
        self.sent: list[dict] = []
        super().__init__()

    @staticmethod
    def _error(code: str, message: str) -> tuple[int, dict]:
        return 200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": _request_id()}}

    def handle(self, environ, body):
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        content_type = environ.get("CONTENT_TYPE", "")
        self.requests.append({"headers": headers, "body": body})
        if (environ["REQUEST_METHOD"] != "POST" or headers.get("x-tc-action") != "SendSms"
                or headers.get("x-tc-version") != "2021-01-11"):
            return self._error("InvalidAction", "接口不存在。")
        auth = headers.get("authorization", "")
        try:
            algorithm, rest = auth.split(" ", 1)
            fields = dict(part.strip().split("=", 1) for part in rest.split(","))
            secret_id, date, service, terminator = fields["Credential"].split("/")
        except ValueError:
            return self._error("AuthFailure.SignatureFailure", "请求签名验证失败，请检查您的签名计算是否正确。")
        if algorithm != "TC3-HMAC-SHA256" or terminator != "tc3_request" or service != "sms":
            return self._error("AuthFailure.SignatureFailure", "请求签名验证失败，请检查您的签名计算是否正确。")
        secret_key = self.keys.get(secret_id)
        if secret_key is None:
            return self._error("AuthFailure.SecretIdNotFound", "密钥不存在。")
        timestamp = int(headers.get("x-tc-timestamp", "0"))
        if abs(dt.datetime.now(dt.UTC).timestamp() - timestamp) > 300:
            return self._error("AuthFailure.SignatureExpire", "签名过期。")
        if dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d") != date:
            return self._error("AuthFailure.SignatureFailure", "请求签名验证失败，请检查您的签名计算是否正确。")
        signed = fields["SignedHeaders"].split(";")
        values = {"content-type": content_type, "host": headers.get("host", "")}
        canonical_headers = "".join(f"{h}:{values.get(h, headers.get(h, '')).lower()}\n" for h in signed)
        canonical = "\n".join(["POST", "/", environ.get("QUERY_STRING", ""), canonical_headers,
                               fields["SignedHeaders"], hashlib.sha256(body).hexdigest()])
        to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), f"{date}/{service}/tc3_request",
                             hashlib.sha256(canonical.encode()).hexdigest()])
        if not hmac.compare_digest(tc3_signature(secret_key, date, service, to_sign), fields["Signature"]):
            return self._error("AuthFailure.SignatureFailure", "请求签名验证失败，请检查您的签名计算是否正确。")
        params = json.loads(body or b"{}")
        for need in ("PhoneNumberSet", "SmsSdkAppId", "TemplateId"):
            if not params.get(need):
                return self._error("MissingParameter", f"缺少参数 {need}。")
        scripted = self.next_scripted()
        phone = params["PhoneNumberSet"][0]
        if scripted is not None and scripted.startswith(self.REQUEST_LEVEL):
            return self._error(scripted, "scripted")
        if scripted is not None:
            status = {"SerialNo": "", "PhoneNumber": phone, "Fee": 0, "SessionContext": "",
                      "Code": scripted, "Message": "scripted", "IsoCode": "CN"}
        else:
            serial = f"{secrets.randbelow(10**4):04d}:{secrets.randbelow(10**20):020d}"
            status = {"SerialNo": serial, "PhoneNumber": phone, "Fee": 1, "SessionContext": "",
                      "Code": "Ok", "Message": "send success", "IsoCode": "CN"}
            self.sent.append({"phone": phone, "app": params["SmsSdkAppId"], "sign": params.get("SignName"),
                              "template": params["TemplateId"], "params": params.get("TemplateParamSet", [])})
        return 200, {"Response": {"SendStatusSet": [status], "RequestId": _request_id()}}


# --- WeChat mini-program server API ----------------------------------------------------------------

class WeChatApi(VendorServer):
    """``codes``: js_code → openid (each code logs in once); ``refused``: openids that have not
    subscribed (43101); ``script``: errcodes to answer next, each for the path it names
    (``("/sns/jscode2session", 45011)``).  ``tokens``: issued token → expiry (epoch seconds);
    :meth:`expire_tokens` makes every issued one answer 42001."""

    def __init__(self, appid: str, secret: str):
        self.appid, self.secret = appid, secret
        self.codes: dict[str, str] = {}
        self.used: set[str] = set()
        self.refused: set[str] = set()
        self.tokens: dict[str, float] = {}
        self.current: str | None = None
        self.token_calls: list[dict] = []
        self.messages: list[dict] = []
        super().__init__()

    def expire_tokens(self):
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def _scripted_for(self, path: str) -> int | None:
        with self.lock:
            for i, (where, errcode) in enumerate(self.script):
                if where == path:
                    del self.script[i]
                    return errcode
        return None

    @staticmethod
    def _err(errcode: int, errmsg: str) -> tuple[int, dict]:
        return 200, {"errcode": errcode, "errmsg": f"{errmsg} rid: {secrets.token_hex(4)}"}

    def handle(self, environ, body):
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
        self.requests.append({"path": path, "query": query, "body": body})
        scripted = self._scripted_for(path)
        if scripted is not None:
            return self._err(scripted, "scripted")
        if path == "/cgi-bin/stable_token" and method == "POST":
            return self._token(json.loads(body or b"{}"))
        if path == "/cgi-bin/token" and method == "GET":
            return self._token({**query, "force_refresh": True})
        if path == "/sns/jscode2session" and method == "GET":
            return self._code2session(query)
        if path == "/cgi-bin/message/subscribe/send" and method == "POST":
            return self._subscribe(query, json.loads(body or b"{}"))
        return 404, {"errcode": 404, "errmsg": "not found"}

    def _token(self, params) -> tuple[int, dict]:
        self.token_calls.append(params)
        if params.get("grant_type") != "client_credential":
            return self._err(40002, "invalid grant_type")
        if params.get("appid") != self.appid:
            return self._err(40013, "invalid appid")
        if params.get("secret") != self.secret:
            return self._err(40125, "invalid appsecret")
        with self.lock:
            now = dt.datetime.now(dt.UTC).timestamp()
            # Stable token: the same one while valid, unless force_refresh.
            if params.get("force_refresh") or not self.current or self.tokens.get(self.current, 0) <= now:
                self.current = "ACCESS_TOKEN_" + secrets.token_urlsafe(24)
                self.tokens[self.current] = now + 7200
            return 200, {"access_token": self.current, "expires_in": int(self.tokens[self.current] - now)}

    def _code2session(self, q) -> tuple[int, dict]:
        if q.get("appid") != self.appid:
            return self._err(40013, "invalid appid")
        if q.get("secret") != self.secret:
            return self._err(40125, "invalid appsecret")
        if q.get("grant_type") != "authorization_code":
            return self._err(40002, "invalid grant_type")
        code = q.get("js_code", "")
        with self.lock:
            if code in self.used:
                return self._err(40163, "code been used")
            if code not in self.codes:
                return self._err(40029, "invalid code")
            self.used.add(code)
        return 200, {"openid": self.codes[code], "session_key": base64.b64encode(secrets.token_bytes(16)).decode()}

    def _subscribe(self, q, msg) -> tuple[int, dict]:
        token = q.get("access_token", "")
        expiry = self.tokens.get(token)
        if expiry is None:
            return self._err(40001, "invalid credential, access_token is invalid or not latest")
        if expiry <= dt.datetime.now(dt.UTC).timestamp():
            return self._err(42001, "access_token expired")
        if not msg.get("touser") or not msg.get("template_id") or not isinstance(msg.get("data"), dict):
            return self._err(47001, "data format error")
        if not all(isinstance(v, dict) and "value" in v for v in msg["data"].values()):
            return self._err(47003, "argument invalid! data.value empty")
        if msg["touser"] in self.refused:
            return self._err(43101, "user refuse to accept the msg")
        self.messages.append(msg)
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": secrets.randbelow(10**12)}
