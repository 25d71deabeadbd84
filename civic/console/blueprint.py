"""The console blueprint, its navigation, error pages and small helpers shared by its views."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from civic.accounts.memberships import acting_memberships
from civic.core.api import render_errors_as_pages
from civic.core.db import to_shanghai
from civic.core.errors import CivicError, Forbidden, Unauthenticated
from civic.property.models import ORGANISATION_KINDS
from civic.proposals.moderation import MODERATOR_ROLES

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")

# Navigation: (endpoint, label, organisation kinds whose members see it[, roles they must hold
# there]).  Admins see everything.
CASE_KINDS = ("urban_management", "property_company", "police", "residents_committee", "owners_committee",
              "resident_representatives", "street_centre", "village_committee")
# Who moderates residents' content: the kinds that organise contests and convene committees
# (civic.proposals.contests.service.ORGANISER_KINDS, civic.proposals.deliberation.service.CONVENER_KINDS;
# a test keeps them equal).
MODERATION_KINDS = ("residents_committee", "street_centre")
NAV = [
    ("console.cases_queue", "工单队列", CASE_KINDS),
    ("console.oversight", "督办统计", ("street_centre",)),
    ("console.village_home", "村务公开", ("village_committee", "village_supervision", "street_centre")),
    ("console.votes_home", "业主大会表决", ("owners_committee", "street_centre")),
    ("console.moderation_queue", "内容审核", MODERATION_KINDS, MODERATOR_ROLES),
    ("console.budgets_home", "社区微更新", ("residents_committee", "street_centre")),
    # The heads of every kind manage their organisation's staff (civic.accounts.staff).
    ("console.staff_home", "工作人员", ORGANISATION_KINDS, ("head",)),
    ("console.claims_queue", "房屋认领审核", ("owners_committee", "residents_committee", "property_company")),
]


def org_kinds(user) -> set[str]:
    return {org.kind for _m, org in acting_memberships(user)}


def _shows(entry, user, held: set[tuple[str, str]]) -> bool:
    """Whether a NAV entry shows for ``user``, who holds ``{(organisation kind, role)}``."""
    kinds, roles = entry[2], entry[3] if len(entry) > 3 else None
    return user.kind == "admin" or any(k in kinds and (roles is None or r in roles) for k, r in held)


def allowed(user, kinds: tuple[str, ...]) -> bool:
    return user.kind == "admin" or bool(org_kinds(user) & set(kinds))


def staff_page(*kinds: str):
    """Decorator: a logged-in staff member (or admin) whose organisations include one of ``kinds``
    (any staff when none given).  Others get the 403 page; the anonymous go to the login page."""

    def deco(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                raise Unauthenticated()
            user = current_user._get_current_object()
            if user.kind not in ("staff", "admin"):
                raise Forbidden("工作台仅供工作人员使用", code="wrong_account_kind")
            if kinds and not allowed(user, kinds):
                raise Forbidden("您所在的组织无权使用该页面", code="section_forbidden")
            return view(user, *args, **kwargs)

        return wrapper

    return deco


def chosen_place(places: list, param: str, *, what: str):
    """The place picked by the query parameter ``param`` (its code) among ``places`` the user may
    work on, or the first.  ``what`` names the kind in the messages (e.g. "村", "小区").

    :raises Forbidden: ``no_{param}`` when the user has none; ``out_of_scope`` for another code."""
    if not places:
        raise Forbidden(f"您所在的组织没有负责的{what}", code=f"no_{param}")
    code = request.args.get(param) or places[0].code
    place = next((p for p in places if p.code == code), None)
    if place is None:
        raise Forbidden(f"无权查看该{what}", code="out_of_scope")
    return place


def see_other(endpoint: str, **values):
    """Redirect after a successful POST (303: the browser GETs the next page)."""
    return redirect(url_for(endpoint, **values), code=303)


def safe_next(target: str | None) -> str:
    """Only a path inside the console is followed after login (no open redirect)."""
    if target and target.startswith("/console") and not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("console.home")


@bp.app_template_filter("sh")
def _sh(value, fmt="%Y-%m-%d %H:%M"):
    return to_shanghai(value).strftime(fmt) if value else ""


@bp.context_processor
def _nav():
    items = []
    if current_user.is_authenticated and current_user.kind in ("staff", "admin"):
        held = {(org.kind, m.role) for m, org in acting_memberships(current_user)}
        here = request.endpoint or ""
        items = [(e[0], e[1], here.startswith(e[0].split("_")[0])) for e in NAV if _shows(e, current_user, held)]
    return {"nav": items}


@bp.errorhandler(CivicError)
def _civic_error(exc: CivicError):
    if isinstance(exc, Unauthenticated) and not current_user.is_authenticated:
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
    if exc.code == "password_change_required":  # civic.accounts.staff.password_change_gate
        return redirect(url_for("console.password"), code=303)
    return render_template("console/error.html", error=exc), exc.status


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError):
    err = CivicError("页面已过期或表单来源无效，请刷新页面后重试", code="csrf_failed", status=400)
    return render_template("console/error.html", error=err), 400


@bp.errorhandler(404)
def _not_found(exc):
    err = CivicError("找不到该页面", code="not_found", status=404)
    return render_template("console/error.html", error=err), 404


def _error_page(code: str, message: str, details: dict, status: int):
    """Errors raised before a console view runs (unknown URL, wrong method, rate limit, a value the
    database cannot hold) as the console's error page (civic.core.api.render_errors_as_pages)."""
    if status == 404:
        message = "找不到该页面"
    err = CivicError(message, code=code, status=status, details=details)
    return make_response(render_template("console/error.html", error=err), status)


render_errors_as_pages(bp.url_prefix, _error_page)
