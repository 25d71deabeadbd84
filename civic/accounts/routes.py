"""Login, logout, and who am I.  HTTP only: each view calls one service function."""

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView

from civic.accounts import schemas, service
from civic.accounts.identity import revoke_token
from civic.accounts.staff import allowed_before_password_change
from civic.core import idempotency
from civic.core.api import Blueprint
from civic.core.auth import bearer_token, current_actor
from civic.core.http import login_limit, resident_login_limit

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="登录与身份")


def me_dict(user) -> dict:
    from civic.accounts.service import membership_summaries
    from civic.core.text import mask_phone
    from civic.property import service as registry

    memberships = membership_summaries(user.id) if user.kind != "resident" else []
    units = [{"unit_id": p.id, "unit_name": p.name, "relation": link.relation}
             for link, p in registry.units_of_resident(user.id)] if user.kind == "resident" else []
    return {"id": user.id, "kind": user.kind, "display_name": user.display_name,
            "phone_masked": mask_phone(user.phone), "must_change_password": bool(user.must_change_password),
            "memberships": memberships, "units": units}


def _token_response(user, token, expires, created=False):
    return {"token": token, "expires_at": expires, "created": created, "user": me_dict(user)}


@blp.route("/auth/login")
@idempotency.exempt
@allowed_before_password_change
class StaffLogin(MethodView):
    decorators = [login_limit]

    @blp.arguments(schemas.LoginSchema)
    @blp.response(200, schemas.TokenSchema)
    def post(self, data):
        """工作人员账号密码登录，返回 Bearer 令牌

        Errors: 401 ``invalid_credentials``; 429 ``rate_limited``.
        """
        user, token, expires = service.login_password(data["username"], data["password"])
        return _token_response(user, token, expires)


@blp.route("/auth/wechat")
@idempotency.exempt
@allowed_before_password_change
class WechatLogin(MethodView):
    decorators = [resident_login_limit]

    @blp.arguments(schemas.WechatLoginSchema)
    @blp.response(200, schemas.TokenSchema)
    def post(self, data):
        """小程序登录：用 wx.login 的 code 换取令牌（code2session）

        Errors: 401 ``wechat_code_invalid`` (WeChat 40029), ``wechat_code_used`` (40163); 503
        ``wechat_unavailable`` (WeChat busy or unreachable), ``wechat_misconfigured``; 429
        ``wechat_rate_limited`` (WeChat's 45011), ``rate_limited`` (per
        code and per WeChat user: ``RATELIMIT_LOGIN``, ``RATELIMIT_LOGIN_OPENID``; per address, sized
        for a carrier's NAT: ``RATELIMIT_RESIDENT_LOGIN_ADDRESS``).
        """
        user, token, expires, created = service.login_wechat(data["code"])
        return _token_response(user, token, expires, created)


@blp.route("/auth/otp")
class OtpRequest(MethodView):
    decorators = [resident_login_limit]

    @blp.arguments(schemas.OtpRequestSchema)
    @blp.response(202, schemas.OtpSentSchema)
    def post(self, data):
        """发送手机验证码

        The code is sent by the SMS vendor before this answers; a transient failure of the vendor
        is retried in the background.  Errors: 422 ``phone_invalid`` (also when the vendor refuses
        the number); 429 ``otp_too_soon``, ``sms_rate_limited`` (the vendor's per-number limit);
        503 ``sms_unavailable`` (phone login off), ``sms_misconfigured``, ``sms_failed``.
        """
        return {"expires_at": service.request_otp(data["phone"])}


@blp.route("/auth/otp/verify")
@idempotency.exempt
@allowed_before_password_change
class OtpVerify(MethodView):
    decorators = [resident_login_limit]

    @blp.arguments(schemas.OtpVerifySchema)
    @blp.response(200, schemas.TokenSchema)
    def post(self, data):
        """手机号 + 验证码登录

        Errors: 401 ``otp_invalid`` / ``otp_expired`` / ``otp_locked``.
        """
        user, token, expires, created = service.login_otp(data["phone"], data["code"])
        return _token_response(user, token, expires, created)


@blp.route("/auth/logout")
@allowed_before_password_change
class Logout(MethodView):
    @blp.response(204)
    def post(self):
        """注销当前令牌"""
        current_actor()
        token = bearer_token()
        if token:
            revoke_token(token)
        return None


@blp.route("/auth/password")
@allowed_before_password_change
class PasswordChange(MethodView):
    @blp.arguments(schemas.PasswordChangeSchema)
    @blp.response(204)
    def post(self, data):
        """修改密码（工作人员）；其他设备上的登录随之失效

        Every other bearer token and console session of the user is revoked; the token (or console
        session) that made the change stays.  Errors: 401 ``invalid_credentials``; 422 ``password_weak``.
        """
        from flask import session

        from civic.core.auth import SESSION_TOKEN

        service.change_password(current_actor(), data["old_password"], data["new_password"],
                                keep_token=bearer_token() or session.get(SESSION_TOKEN))
        return None


@blp.route("/me")
@allowed_before_password_change
class Me(MethodView):
    @blp.response(200, schemas.MeSchema)
    @blp.doc(security=[{"bearer": []}])
    def get(self):
        """当前用户：身份、所属组织与角色、关联的房屋（手机号脱敏）

        Shape: :class:`~civic.accounts.schemas.MeSchema`.  Errors: 401 ``unauthenticated``,
        ``token_invalid``, ``token_expired``, ``token_revoked``.
        """
        # Every client calls this on start-up: me_dict already holds exactly MeSchema's shape (ints and
        # text; tests/foundation check MeSchema().dump(me_dict(u)) == me_dict(u)), so it is sent as
        # JSON directly; flask-smorest passes a Response through and still documents the schema.
        return jsonify(me_dict(current_actor()))

    @blp.arguments(schemas.ProfileEditSchema)
    @blp.response(200, schemas.MeSchema)
    @blp.doc(security=[{"bearer": []}])
    def patch(self, data):
        """更正本人信息（姓名）

        PIPL Art. 46.  An empty body, or the same name, changes and writes nothing.  Errors: 401;
        422 ``display_name_invalid``.
        """
        from civic.accounts import privacy

        return me_dict(privacy.correct_profile(current_actor(), data))

    @blp.arguments(schemas.AccountDeleteSchema)
    @blp.response(204)
    @blp.doc(security=[{"bearer": []}])
    def delete(self, data):
        """注销本人账号（居民）：删除或匿名化个人信息，令牌失效

        PIPL Art. 47.  What is kept, and for how long, is the retention table (docs/privacy.md).
        Errors: 401; 403 ``account_not_resident`` (staff accounts are closed by their organisation);
        422 when ``confirm`` is not "注销账号".
        """
        from civic.accounts import privacy

        privacy.delete_account(current_actor())
        return None


@blp.route("/my/data")
class MyData(MethodView):
    @blp.response(200, schemas.MyDataSchema)
    @blp.doc(security=[{"bearer": []}])
    def get(self):
        """下载本人的全部个人信息（JSON）

        PIPL Arts. 44-45: the account, unit ties, cases and their messages, ratings, photos, ideas,
        comments, supports, topics, ballots (receipt hashes), proxies, notifications, and the reveal
        log about them (who saw their name and phone, as which organisation, when, why).  Each
        domain contributes its part (civic.core.personal_data).  Errors: 401.
        """
        from civic.accounts import privacy

        return privacy.my_data(current_actor())
