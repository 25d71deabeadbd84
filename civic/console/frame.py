"""Login, logout, password change and the home page."""

from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from flask_login import current_user

from civic.accounts import service as accounts
from civic.accounts.identity import end_session, start_session
from civic.accounts.memberships import acting_memberships
from civic.accounts.staff import ROLE_NAMES, allowed_before_password_change
from civic.console.blueprint import bp, safe_next, see_other, staff_page
from civic.core import audit
from civic.core.auth import SESSION_TOKEN
from civic.core.errors import CivicError, Forbidden, ValidationFailed
from civic.core.http import login_limit


@bp.get("/login")
@allowed_before_password_change
def login():
    """登录页."""
    if current_user.is_authenticated and current_user.kind in ("staff", "admin"):
        return redirect(safe_next(request.args.get("next")))
    return render_template("console/login.html", next=request.args.get("next", ""), error=None)


@bp.post("/login")
@allowed_before_password_change
@login_limit
def login_post():
    """Check the password with the accounts service (the API's own check), then start a session."""
    try:
        user = accounts.check_password(request.form.get("username", "").strip(), request.form.get("password", ""))
        if user.kind not in ("staff", "admin"):
            raise Forbidden("工作台仅供工作人员使用", code="wrong_account_kind")
    except CivicError as exc:  # the form again, with the message (the failed try is already logged)
        return render_template("console/login.html", next=request.form.get("next", ""),
                               error=exc.message, username=request.form.get("username", "")), exc.status
    start_session(user, session)
    audit.record("auth.login", "user", user.id, actor=user, data={"via": "console"})
    return see_other_url(safe_next(request.form.get("next")))


def see_other_url(url: str):
    return redirect(url, code=303)


@bp.post("/logout")
@allowed_before_password_change
def logout():
    """退出登录."""
    if current_user.is_authenticated:
        audit.record("auth.logout", "user", current_user.id, actor=current_user._get_current_object(),
                     data={"via": "console"})
    end_session(session)
    return see_other("console.login")


@bp.get("/")
@staff_page()
def home(user):
    """首页：我的组织与可用的功能."""
    memberships = [(org, ROLE_NAMES.get(m.role, m.role)) for m, org in acting_memberships(user)]
    return render_template("console/home.html", user=user, memberships=memberships)


@bp.get("/password")
@allowed_before_password_change
@staff_page()
def password(user):
    """修改密码."""
    return render_template("console/password.html", user=user, done=request.args.get("done"),
                           forced=user.must_change_password)


@bp.post("/password")
@allowed_before_password_change
@staff_page()
def password_post(user):
    new = request.form.get("new", "")
    if new != request.form.get("confirm", ""):
        raise ValidationFailed("两次输入的新密码不一致", code="password_mismatch")
    accounts.change_password(user, request.form.get("old", ""), new, keep_token=session.get(SESSION_TOKEN))
    return redirect(url_for("console.password", done=1), code=303)
