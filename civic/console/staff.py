"""工作人员 in the console: an organisation's members and their roles, for whoever manages it (its
head, the street centre's head for the organisations in its street, administrators).  Create an
account, change or remove a role, move a member, reset a password, disable or enable an account.
Every rule is civic.accounts.staff's; each view calls one of its functions, as the API does."""

from __future__ import annotations

from flask import render_template, request

from civic.accounts import staff
from civic.accounts.models import STAFF_ROLES
from civic.console.blueprint import bp, see_other, staff_page
from civic.core.db import parse_id
from civic.core.errors import Forbidden, ValidationFailed

CANDIDATES = 200  # the "add an existing member" list shows at most this many accounts


def _org_id(field: str = "org") -> int:
    value = parse_id(request.values.get(field))
    if value is None:
        raise ValidationFailed("请选择组织", code="organisation_required")
    return value


def _one_time(user, member, password: str, org_id: int | None, what: str):
    # The password is shown in this response only, never stored or put in a redirect (a session
    # cookie is signed, not encrypted).  The request commits right after this page is built.
    return render_template("console/staff_password.html", user=user, member=member, password=password,
                           org_id=org_id, what=what)


@bp.get("/staff")
@staff_page()
def staff_home(user):
    """本人管理的组织的工作人员与角色。"""
    orgs = staff.organisations_to_manage(user)
    if not orgs:
        raise Forbidden("您不是任何组织的负责人，无权管理工作人员", code="not_staff_manager")
    chosen = parse_id(request.args.get("org")) or orgs[0].id
    org = next((o for o in orgs if o.id == chosen), None)
    if org is None:
        raise Forbidden("您无权管理该组织的工作人员", code="not_staff_manager")
    # Staff the user already manages elsewhere who are not in this organisation: whom it may add.
    visible = staff.list_staff(user, include_disabled=False, limit=CANDIDATES)[0]
    candidates = [s for s in visible if s["kind"] == "staff"
                  and all(m["organisation_id"] != org.id for m in s["memberships"])]
    return render_template("console/staff.html", user=user, orgs=orgs, org=org,
                           members=staff.organisation_members(user, org.id), roles=STAFF_ROLES,
                           role_names=staff.ROLE_NAMES, done=request.args.get("done"), candidates=candidates)


@bp.post("/staff/new")
@staff_page()
def staff_create(user):
    org_id = _org_id()
    member, password = staff.create_staff_account(user, {
        "username": request.form.get("username", "").strip(), "display_name": request.form.get("display_name", ""),
        "organisation_id": org_id, "role": request.form.get("role") or "handler"})
    return _one_time(user, member, password, org_id, "新账号已建立")


@bp.post("/staff/<int:user_id>/role")
@staff_page()
def staff_role(user, user_id):
    org_id = _org_id()
    staff.change_role(user, org_id, user_id, request.form.get("role", ""))
    return see_other("console.staff_home", org=org_id, done="role")


@bp.post("/staff/<int:user_id>/remove")
@staff_page()
def staff_remove(user, user_id):
    org_id = _org_id()
    staff.remove_membership(user, org_id, user_id)
    return see_other("console.staff_home", org=org_id, done="removed")


@bp.post("/staff/add")
@staff_page()
def staff_add(user):
    org_id = _org_id()
    staff.add_membership(user, org_id, parse_id(request.form.get("user_id")) or 0, request.form.get("role", ""))
    return see_other("console.staff_home", org=org_id, done="added")


@bp.post("/staff/<int:user_id>/move")
@staff_page()
def staff_move(user, user_id):
    org_id = _org_id()
    staff.move_staff(user, user_id, org_id, _org_id("to"), request.form.get("role") or None)
    return see_other("console.staff_home", org=org_id, done="moved")


@bp.post("/staff/<int:user_id>/reset")
@staff_page()
def staff_reset(user, user_id):
    password = staff.reset_password(user, user_id)
    return _one_time(user, staff.get_staff(user, user_id), password, parse_id(request.form.get("org")), "密码已重置")


@bp.post("/staff/<int:user_id>/disable")
@staff_page()
def staff_disable(user, user_id):
    staff.disable_account(user, user_id)
    return see_other("console.staff_home", org=_org_id(), done="disabled")


@bp.post("/staff/<int:user_id>/enable")
@staff_page()
def staff_enable(user, user_id):
    staff.enable_account(user, user_id)
    return see_other("console.staff_home", org=_org_id(), done="enabled")
