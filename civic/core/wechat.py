"""WeChat's server API for the mini-program: the access token, code2session, subscribe messages.

As WeChat documents it (developers.weixin.qq.com, 小程序 › 服务端 API):

- ``POST /cgi-bin/stable_token`` ``{"grant_type": "client_credential", "appid", "secret",
  "force_refresh"}`` → ``{"access_token", "expires_in"}`` (7200 s).  The *stable* token: a
  refresh does not cut off the token other workers hold (the plain ``/cgi-bin/token`` would, for
  every server of the appid), and ``force_refresh`` is the only way to replace a token WeChat
  says is invalid (limited to 20 a day, so only one worker may do it).
- ``GET /sns/jscode2session?appid&secret&js_code&grant_type=authorization_code`` → ``{"openid",
  "session_key", "unionid"?}``.
- ``POST /cgi-bin/message/subscribe/send?access_token=…`` ``{"touser", "template_id", "page"?,
  "data": {"thing1": {"value": …}}, "miniprogram_state"}`` → ``{"errcode": 0, "errmsg": "ok"}``.

Every error is ``{"errcode": n, "errmsg": …}`` with HTTP 200; what each ``errcode`` means for
civic is one table (:data:`ERRCODES`).

**The access token** (:func:`access_token`) is cached where every worker sees it: in Redis under
``civic:wechat:token:<appid>`` when ``CIVIC_REDIS_URL`` is set, with a Redis lock so that one
worker fetches while the others wait for its result; in this process (a dict and a thread lock)
otherwise, and while Redis is unreachable.  It is kept until five minutes before WeChat's expiry.
A call answered "token invalid or expired" (40001, 42001, 40014) refreshes it once, forced, and is
tried again once (:func:`call_with_token`); a worker that finds the token already replaced by
another one uses the new token instead of forcing another refresh.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
import urllib.request

from flask import current_app

log = logging.getLogger(__name__)

TOKEN_ERRCODES = (40001, 42001, 40014)  # invalid credential, access_token expired, invalid access_token
TOKEN_MARGIN_SECONDS = 300
LOCK_SECONDS = 10

# errcode → (kind, meaning).  Kinds: "invalid_code" and "used_code" (the resident's login code),
# "rate_limited", "busy" (try again later), "refused" (the user cannot receive this message: not
# subscribed, or the subscription used up or revoked: sending again cannot help), "token" (refresh
# the access token), "config" (the operator's appid, secret, IP whitelist or template).
ERRCODES: dict[int, tuple[str, str]] = {
    -1: ("busy", "系统繁忙"),
    40029: ("invalid_code", "code 无效"),
    40163: ("used_code", "code 已被使用"),
    40226: ("invalid_code", "高风险等级用户，小程序登录拦截"),
    45011: ("rate_limited", "API 调用太频繁"),
    45009: ("busy", "接口调用超过每日限额"),
    40001: ("token", "access_token 无效"),
    42001: ("token", "access_token 已过期"),
    40014: ("token", "不合法的 access_token"),
    43101: ("refused", "用户拒绝接受消息（未订阅或订阅已用完）"),
    40003: ("refused", "touser 不是该小程序的用户 openid"),
    43107: ("refused", "订阅消息能力封禁"),
    40013: ("config", "不合法的 AppID"),
    40125: ("config", "不合法的 AppSecret"),
    40164: ("config", "调用接口的 IP 地址不在白名单中"),
    41002: ("config", "缺少 appid 参数"),
    41004: ("config", "缺少 secret 参数"),
    40037: ("config", "template_id 不正确"),
    47003: ("config", "模板参数不准确"),
}


class WeChatError(Exception):
    """WeChat answered an error, or did not answer (``errcode`` None).  ``kind`` from
    :data:`ERRCODES` (``"busy"`` for no answer, ``"unknown"`` for a code not in the table)."""

    def __init__(self, errcode: int | None, errmsg: str = ""):
        self.errcode = errcode
        self.kind = "busy" if errcode is None else ERRCODES.get(errcode, ("unknown", ""))[0]
        super().__init__(f"errcode {errcode}: {errmsg}"[:500])


def _request(url: str, body: dict | None = None) -> dict:
    """GET (``body`` None) or POST JSON; the answer as a dict.  :raises WeChatError: no answer or
    an ``errcode`` ≠ 0."""
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=current_app.config["WECHAT_TIMEOUT_SECONDS"]) as resp:
            answer = json.loads(resp.read().decode() or "{}")
    except (OSError, ValueError) as exc:
        raise WeChatError(None, str(exc)) from exc
    if not isinstance(answer, dict):
        raise WeChatError(None, "answer is not a JSON object")
    if answer.get("errcode"):
        raise WeChatError(int(answer["errcode"]), str(answer.get("errmsg", "")))
    return answer


def code2session(code: str) -> dict:
    """``{"openid", "session_key", ...}`` for a ``wx.login()`` code.  :raises WeChatError:."""
    cfg = current_app.config
    query = urllib.parse.urlencode({"appid": cfg["WECHAT_APPID"], "secret": cfg["WECHAT_SECRET"],
                                    "js_code": code, "grant_type": "authorization_code"})
    return _request(f"{cfg['WECHAT_CODE2SESSION_URL']}?{query}")


# --- the access token -------------------------------------------------------------------------------

_local: dict[str, tuple[str, float]] = {}  # appid → (token, monotonic deadline)
_local_lock = threading.Lock()


def _redis():
    if not current_app.config.get("REDIS_URL"):
        return None
    from civic.core.jobs import redis_connection

    return redis_connection()


def _key() -> str:
    return f"civic:wechat:token:{current_app.config['WECHAT_APPID']}"


def _cached(conn) -> str | None:
    if conn is not None:
        value = conn.get(_key())
        return value.decode() if value else None
    token, deadline = _local.get(_key(), (None, 0.0))
    return token if token and time.monotonic() < deadline else None


def _store(conn, token: str, expires_in: int) -> None:
    keep = max(60, int(expires_in) - TOKEN_MARGIN_SECONDS)
    if conn is not None:
        conn.set(_key(), token, ex=keep)
    else:
        _local[_key()] = (token, time.monotonic() + keep)


def _fetch(force: bool) -> tuple[str, int]:
    cfg = current_app.config
    answer = _request(cfg["WECHAT_TOKEN_URL"], {"grant_type": "client_credential", "appid": cfg["WECHAT_APPID"],
                                                "secret": cfg["WECHAT_SECRET"], "force_refresh": force})
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise WeChatError(None, "no access_token in the answer")
    return token, int(answer.get("expires_in") or 7200)


def _get(conn, stale: str | None) -> str:
    cached = _cached(conn)
    if cached and cached != stale:
        return cached
    if conn is not None:
        lock = conn.lock(f"{_key()}:lock", timeout=LOCK_SECONDS, blocking_timeout=LOCK_SECONDS)
        if not lock.acquire():
            raise WeChatError(None, "another worker holds the token lock too long")
    else:
        _local_lock.acquire()
        lock = _local_lock
    try:
        # Whoever held the lock before us may have fetched it: use theirs.
        cached = _cached(conn)
        if cached and cached != stale:
            return cached
        token, expires_in = _fetch(force=stale is not None)
        _store(conn, token, expires_in)
        log.info("WeChat access token %s", "refreshed (forced)" if stale else "fetched")
        return token
    finally:
        lock.release()


def access_token(*, stale: str | None = None) -> str:
    """The appid's access token, from the cache shared by every worker, fetched (by one worker
    at a time) when missing.  ``stale``: a token WeChat has just refused; unless another worker
    has replaced it already, it is refreshed with ``force_refresh``.

    :raises WeChatError: from the token endpoint (``config`` for a wrong appid or secret, or this
        server's address missing from the IP whitelist; ``busy`` without an answer).
    """
    conn = _redis()
    if conn is not None:
        from redis.exceptions import RedisError

        try:
            return _get(conn, stale)
        except RedisError as exc:  # Redis away: this process's cache, until it is back
            log.warning("Redis unreachable for the WeChat token, using this process's cache: %s", exc)
    return _get(None, stale)


def forget_token() -> None:
    """Drop this process's cached token (tests; a changed secret)."""
    _local.pop(_key(), None)


def call_with_token(url: str, body: dict) -> dict:
    """POST ``body`` to ``url?access_token=…``; a refused token is refreshed once and the call
    tried once more.  :raises WeChatError:."""
    token = access_token()
    for attempt in (1, 2):
        sep = "&" if "?" in url else "?"
        try:
            return _request(f"{url}{sep}access_token={urllib.parse.quote(token)}", body)
        except WeChatError as exc:
            if exc.kind != "token" or attempt == 2:
                raise
            log.warning("WeChat refused the access token (%s): refreshing it once", exc.errcode)
            token = access_token(stale=token)
    raise AssertionError("unreachable")


def send_subscribe(openid: str, template_id: str, data: dict, *, page: str | None = None) -> None:
    """Send one subscribe message (订阅消息).  ``data``: the template's keys (``thing1``,
    ``time2``...) → values (stringified, as WeChat wants ``{"value": "..."}``).

    :raises WeChatError: ``refused`` (43101: not subscribed or subscription used up: no retry),
        ``busy`` (retry later), ``config``...
    """
    cfg = current_app.config
    body = {"touser": openid, "template_id": template_id,
            "data": {k: {"value": str(v)} for k, v in data.items()},
            "miniprogram_state": cfg["WECHAT_MINIPROGRAM_STATE"], "lang": "zh_CN"}
    if page:
        body["page"] = page
    call_with_token(cfg["WECHAT_SUBSCRIBE_URL"], body)
