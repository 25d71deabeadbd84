"""Staff accounts and their roles (issue #16 point 1): create an account, add, change and remove a
membership, move a person between organisations, reset a password, disable and enable an account.

**Who manages whom** (a local rule of civic: no statute assigns it; the street grid centre's
oversight of the parties in its street follows 上海市城市网格化管理办法's division of duties):

* an administrator (``kind == "admin"``) manages every organisation and every staff account;
* the head (role ``head``) of an organisation manages that organisation's memberships;
* the head of a street centre (``street_centre``) also manages every organisation *in its street*:
  each organisation all of whose covered places lie at or beneath the places the centre covers
  (:func:`civic.property.service.organisations_within`) — never one of another street.

A membership is managed by whoever manages its organisation.  An *account* (its name, its password,
whether it may log in) is managed by whoever manages **every** organisation it belongs to: the head
of a property company may not disable a street centre's head who also sits in that company.  An
account with no membership left, and an administrator's account, is managed by administrators only.

**Who sees whom.**  A staff account is visible to administrators, to itself, and to whoever manages
one of its organisations; to every other staff member it does not exist (404 ``staff_not_found``,
as for an id that does not exist).  An organisation's existence is public to the signed-in
(``GET /organisations/{id}``), so a non-manager asking for its members gets 403.

**Leaving.**  An account is never deleted: a person who leaves is disabled (every token and console
session ends at once) and their memberships removed.  What they did stays with the organisation
(cases, votes, drafts are the organisation's, not the person's) and every row that names them (the
audit log's ``actor_id``, a ballot's ``entered_by_id``...) still finds their name.

**One-time passwords.**  A reset, a new account and an imported account get a random one-time
password of :data:`ONE_TIME_LENGTH` characters from :data:`ONE_TIME_ALPHABET` (about 92 bits) and
``must_change_password``; until the member chooses their own (``POST /auth/password``), every other
request is refused 403 ``password_change_required`` (:func:`password_change_gate`).  Being random
and that long, it is stored under a fast salted hash (PBKDF2-SHA256, one iteration), as bearer tokens
are: a slow hash only protects passwords people choose, and it would make a 20,000-row import take
half an hour.  The member's own password is hashed with scrypt (:func:`civic.accounts.service.hash_password`).

Every change writes the audit log (``staff.*``), naming who did it.
"""

from __future__ import annotations

import hashlib
import re
import secrets

import sqlalchemy as sa

from civic.accounts.identity import revoke_user_tokens
from civic.accounts.memberships import acting_memberships
from civic.accounts.models import STAFF_ROLES, Membership, User
from civic.core import audit
from civic.core.db import edit, insert_once, utcnow
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.pagination import paginate
from civic.extensions import db
from civic.property import service as registry
from civic.property.models import Organisation

ROLE_NAMES = {"head": "负责人", "handler": "经办人", "moderator": "审核员", "viewer": "查看"}
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{2,63}$")
NAME_MAX = 100
ONE_TIME_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"  # no 0/O, 1/l/I
ONE_TIME_LENGTH = 16


# --- one-time passwords ------------------------------------------------------------------------------

def one_time_password() -> str:
    """A random one-time password: :data:`ONE_TIME_LENGTH` characters of :data:`ONE_TIME_ALPHABET`,
    with at least one letter and one digit.  Drawn from one ``os.urandom`` call (rejection sampling
    keeps every character uniform): ``secrets.choice`` per character costs a system call each, half
    the time of a 20,000-row import."""
    n = len(ONE_TIME_ALPHABET)
    limit = 256 - 256 % n
    while True:
        chars = [ONE_TIME_ALPHABET[b % n] for b in secrets.token_bytes(ONE_TIME_LENGTH * 2) if b < limit]
        pw = "".join(chars[:ONE_TIME_LENGTH])
        if len(pw) == ONE_TIME_LENGTH and any(c.isdigit() for c in pw) and any(c.isalpha() for c in pw):
            return pw


def one_time_hash(password: str) -> str:
    """The stored hash of a one-time password (see the module docstring for why it is fast), in
    Werkzeug's format (``pbkdf2:sha256:1$salt$hex``, read by ``check_password_hash``), with a
    64-bit random salt taken in one call."""
    salt = secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1).hex()
    return f"pbkdf2:sha256:1${salt}${digest}"


# --- who manages what --------------------------------------------------------------------------------

def managed_organisations(actor) -> set[int] | None:
    """Ids of the organisations ``actor`` manages; ``None`` for an administrator (all of them).
    Rule: the module docstring."""
    if actor.kind == "admin":
        return None
    if actor.kind != "staff":
        return set()
    heads = acting_memberships(actor, roles=("head",))
    ids = {org.id for _m, org in heads}
    paths = [p for _m, org in heads if org.kind == "street_centre" for p in registry.covered_place_paths(org.id)]
    return ids | registry.organisations_within(paths)


def organisations_to_manage(actor) -> list[Organisation]:
    """The organisations ``actor`` manages (every one for an administrator), by code: what the
    console's staff page offers."""
    managed = managed_organisations(actor)
    stmt = sa.select(Organisation).order_by(Organisation.code)
    if managed is not None:
        if not managed:
            return []
        stmt = stmt.where(Organisation.id.in_(sorted(managed)))
    return list(db.session.scalars(stmt))


def manages(actor, organisation_id: int) -> bool:
    managed = managed_organisations(actor)
    return managed is None or organisation_id in managed


def _org_to_manage(actor, organisation_id: int) -> Organisation:
    """The organisation (404 ``organisation_not_found``: organisations are public) if ``actor``
    manages it, else 403 ``not_staff_manager``."""
    org = registry.get_organisation(organisation_id)
    if not manages(actor, org.id):
        raise Forbidden("您无权管理该组织的工作人员", code="not_staff_manager",
                        details={"organisation_id": organisation_id})
    return org


def _organisation_ids_of(user_id: int) -> set[int]:
    return set(db.session.scalars(sa.select(Membership.organisation_id).where(Membership.user_id == user_id)))


def can_see(actor, user: User) -> bool:
    """Whether ``user``'s staff record exists for ``actor`` (module docstring: who sees whom)."""
    if user.kind not in ("staff", "admin"):
        return False
    if actor.kind == "admin" or actor.id == user.id:
        return True
    if actor.kind != "staff" or user.kind != "staff":
        return False
    managed = managed_organisations(actor)
    return bool(managed & _organisation_ids_of(user.id))


def get_staff(actor, user_id: int) -> User:
    """A staff or administrator account as ``actor`` may see it.

    :raises NotFound: ``staff_not_found`` (no such account, a resident's, or one hidden from ``actor``)."""
    user = db.session.get(User, user_id)
    if user is None or not can_see(actor, user):
        raise NotFound("找不到该工作人员", code="staff_not_found", details={"user_id": user_id})
    return user


def _account_to_act_on(actor, user_id: int) -> User:
    """The account, read as :func:`get_staff` reads it (404), that ``actor`` manages (403
    ``not_staff_manager``: every one of its organisations; an administrator's account or one
    with no membership, administrators only); not ``actor``'s own (409 ``own_account``: a member
    changes their own password at ``/auth/password``)."""
    user = get_staff(actor, user_id)
    if actor.kind != "admin":
        orgs = _organisation_ids_of(user.id)
        managed = managed_organisations(actor)
        if user.kind != "staff" or not orgs or not orgs <= managed:
            raise Forbidden("该工作人员还在您无权管理的组织任职，或为管理员账号", code="not_staff_manager",
                            details={"user_id": user_id})
    if user.id == actor.id:
        raise Conflict("不能对自己的账号执行此操作（修改本人密码请用“修改密码”）", code="own_account")
    return user


def _check_role(role: str) -> str:
    if role not in STAFF_ROLES:
        raise ValidationFailed(f"角色须为 {'、'.join(STAFF_ROLES)} 之一", code="role_unknown", details={"role": role})
    return role


def check_username(username: str) -> str:
    """:raises ValidationFailed: ``username_invalid`` (3-64 letters, digits, ``_ . -``; first a letter or digit)."""
    if not USERNAME_RE.match(username or ""):
        raise ValidationFailed("用户名须为 3-64 位字母、数字或 _ . -，以字母或数字开头", code="username_invalid",
                               details={"username": username})
    return username


def check_display_name(name: str) -> str:
    """The name tidied; :raises ValidationFailed: ``display_name_invalid`` when blank or too long."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise ValidationFailed(f"姓名不能为空，且不超过 {NAME_MAX} 个字符", code="display_name_invalid")
    return name


# --- reads -------------------------------------------------------------------------------------------

def memberships_of(user_ids) -> dict[int, list[dict]]:
    """``{user_id: [{"organisation_id", "organisation_name", "organisation_kind", "role"}]}`` for
    many users in one query per 500 ids."""
    ids = list(user_ids)
    out: dict[int, list[dict]] = {i: [] for i in ids}
    for i in range(0, len(ids), 500):
        rows = db.session.execute(
            sa.select(Membership.user_id, Organisation.id, Organisation.name, Organisation.kind, Membership.role)
            .join(Organisation, Organisation.id == Membership.organisation_id)
            .where(Membership.user_id.in_(ids[i:i + 500])).order_by(Membership.id))
        for uid, oid, name, kind, role in rows:
            out[uid].append({"organisation_id": oid, "organisation_name": name, "organisation_kind": kind,
                             "role": role})
    return out


def staff_dict(user: User, memberships: list[dict] | None = None) -> dict:
    """The shape of :class:`civic.accounts.schemas.StaffSchema`."""
    if memberships is None:
        memberships = memberships_of([user.id])[user.id]
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "kind": user.kind,
            "active": user.active, "disabled_at": user.disabled_at,
            "must_change_password": user.must_change_password, "memberships": memberships}


def list_staff(actor, *, organisation_id: int | None = None, include_disabled: bool = True,
               cursor: str | None = None, limit: int = 50) -> tuple[list[dict], str | None]:
    """The staff accounts ``actor`` sees (:func:`can_see`), by id, optionally only the members of one
    organisation (which ``actor`` must manage: 403 ``not_staff_manager``).  Returns
    ``([staff_dict], next_cursor)``."""
    stmt = sa.select(User).where(User.kind.in_(("staff", "admin")))
    if organisation_id is not None:
        _org_to_manage(actor, organisation_id)
        stmt = stmt.where(User.id.in_(sa.select(Membership.user_id).where(
            Membership.organisation_id == organisation_id)))
    elif actor.kind != "admin":
        managed = sorted(managed_organisations(actor))
        stmt = stmt.where(User.kind == "staff", sa.or_(User.id == actor.id, User.id.in_(
            sa.select(Membership.user_id).where(Membership.organisation_id.in_(managed)))))
    if not include_disabled:
        stmt = stmt.where(User.active.is_(True))
    users, next_cursor = paginate(stmt, [User.id], cursor=cursor, limit=limit, descending=False)
    ms = memberships_of([u.id for u in users])
    return [staff_dict(u, ms[u.id]) for u in users], next_cursor


def organisation_members(actor, organisation_id: int) -> list[dict]:
    """``[{"user_id", "username", "display_name", "role", "active", "must_change_password"}]`` of one
    organisation, by name; for whoever manages it (403 ``not_staff_manager``; 404
    ``organisation_not_found``)."""
    _org_to_manage(actor, organisation_id)
    rows = db.session.execute(
        sa.select(User, Membership.role).join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == organisation_id).order_by(User.display_name, User.id))
    return [{"user_id": u.id, "username": u.username, "display_name": u.display_name, "role": role,
             "active": u.active, "must_change_password": u.must_change_password} for u, role in rows]


# --- accounts ----------------------------------------------------------------------------------------

def create_staff_account(actor, data: dict) -> tuple[User, str]:
    """A new staff account with one membership: ``data`` = ``{"username", "display_name",
    "organisation_id", "role"}``.  Returns ``(user, one_time_password)``: the password is shown once
    to whoever created the account, and must be changed at the first login.

    Order: the organisation (404), who may (403 ``not_staff_manager``), the input (422
    ``username_invalid``, ``display_name_invalid``, ``role_unknown``), then the name's uniqueness
    (409 ``username_taken``, also when another request takes the name at the same moment)."""
    org = _org_to_manage(actor, data["organisation_id"])
    username = check_username(data["username"])
    name = check_display_name(data["display_name"])
    role = _check_role(data.get("role") or "handler")
    password = one_time_password()
    taken = Conflict(f"用户名 {username} 已被使用", code="username_taken", details={"username": username})
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise taken
    user = insert_once(User(kind="staff", username=username, display_name=name,
                            password_hash=one_time_hash(password), must_change_password=True), taken)
    db.session.add(Membership(user_id=user.id, organisation_id=org.id, role=role))
    db.session.flush()
    audit.record("staff.created", "user", user.id, actor=actor,
                 data={"username": username, "display_name": name, "organisation_id": org.id, "role": role})
    return user, password


def edit_staff(actor, user_id: int, values: dict) -> User:
    """Change an account's ``display_name``.  An edit that changes nothing writes nothing.
    :raises NotFound, Forbidden, Conflict: as :func:`_account_to_act_on`; 422 ``display_name_invalid``."""
    user = _account_to_act_on(actor, user_id)
    if "display_name" in values:
        values = {"display_name": check_display_name(values["display_name"])}
    diff = edit(user, values)
    if diff:
        audit.record("staff.edited", "user", user.id, actor=actor,
                     data={k: {"from": a, "to": b} for k, (a, b) in diff.items()})
    return user


def reset_password(actor, user_id: int) -> str:
    """Give the account a new one-time password (returned, shown once) that must be changed at the
    next login; every token and console session of the account ends.
    :raises NotFound, Forbidden, Conflict: as :func:`_account_to_act_on`."""
    user = _account_to_act_on(actor, user_id)
    password = one_time_password()
    user.password_hash = one_time_hash(password)
    user.must_change_password = True
    ended = revoke_user_tokens(user.id)
    audit.record("staff.password_reset", "user", user.id, actor=actor, data={"logins_ended": ended})
    return password


def disable_account(actor, user_id: int) -> User:
    """Disable an account: it can no longer log in, and every token and console session ends now.
    Its memberships and everything it did stay (module docstring: leaving).
    :raises Conflict: ``account_already_disabled``; and as :func:`_account_to_act_on`."""
    user = _account_to_act_on(actor, user_id)
    if not user.active:
        raise Conflict("该账号已停用", code="account_already_disabled")
    user.active, user.disabled_at = False, utcnow()
    ended = revoke_user_tokens(user.id)
    audit.record("staff.disabled", "user", user.id, actor=actor, data={"logins_ended": ended})
    return user


def enable_account(actor, user_id: int) -> User:
    """Enable a disabled account again (with the password it had).
    :raises Conflict: ``account_not_disabled``; and as :func:`_account_to_act_on`."""
    user = _account_to_act_on(actor, user_id)
    if user.active:
        raise Conflict("该账号未停用", code="account_not_disabled")
    user.active, user.disabled_at = True, None
    audit.record("staff.enabled", "user", user.id, actor=actor)
    return user


# --- memberships -------------------------------------------------------------------------------------

def _membership(organisation_id: int, user_id: int) -> Membership | None:
    return db.session.scalar(sa.select(Membership).where(Membership.organisation_id == organisation_id,
                                                         Membership.user_id == user_id))


def _member_to_add(actor, user_id: int) -> User:
    user = get_staff(actor, user_id)
    if user.kind != "staff":
        raise ValidationFailed("只有工作人员账号可以加入组织（管理员无需加入）", code="not_staff_account",
                               details={"user_id": user_id})
    return user


def add_membership(actor, organisation_id: int, user_id: int, role: str) -> Membership:
    """Give a staff member a role in an organisation.
    Order: organisation (404), who may (403 ``not_staff_manager``), the member as ``actor`` sees
    them (404 ``staff_not_found``; 422 ``not_staff_account``), the role (422 ``role_unknown``),
    then 409 ``membership_exists``."""
    org = _org_to_manage(actor, organisation_id)
    user = _member_to_add(actor, user_id)
    role = _check_role(role)
    exists = Conflict("该工作人员已在本组织任职", code="membership_exists",
                      details={"organisation_id": org.id, "user_id": user.id})
    if _membership(org.id, user.id) is not None:
        raise exists
    m = insert_once(Membership(user_id=user.id, organisation_id=org.id, role=role), exists)
    audit.record("staff.membership_added", "user", user.id, actor=actor,
                 data={"organisation_id": org.id, "role": role})
    return m


def _existing_membership(actor, organisation_id: int, user_id: int) -> Membership:
    org = _org_to_manage(actor, organisation_id)
    m = _membership(org.id, user_id)
    if m is None:
        raise NotFound("该工作人员不在本组织", code="membership_not_found",
                       details={"organisation_id": organisation_id, "user_id": user_id})
    return m


def change_role(actor, organisation_id: int, user_id: int, role: str) -> Membership:
    """Change a member's role; the same role changes nothing and writes nothing.
    :raises NotFound: ``organisation_not_found``, ``membership_not_found``.  :raises Forbidden:
    ``not_staff_manager``.  :raises ValidationFailed: ``role_unknown``."""
    m = _existing_membership(actor, organisation_id, user_id)
    diff = edit(m, {"role": _check_role(role)})
    if diff:
        audit.record("staff.role_changed", "user", user_id, actor=actor,
                     data={"organisation_id": organisation_id, "from": diff["role"][0], "to": role})
    return m


def remove_membership(actor, organisation_id: int, user_id: int) -> None:
    """Take a member out of an organisation.  The account stays (and what they did stays with the
    organisation); their tokens are dropped from the principal cache so the role ends now.
    :raises NotFound: ``organisation_not_found``, ``membership_not_found``.  :raises Forbidden:
    ``not_staff_manager``."""
    m = _existing_membership(actor, organisation_id, user_id)
    role = m.role
    db.session.delete(m)
    db.session.flush()
    audit.record("staff.membership_removed", "user", user_id, actor=actor,
                 data={"organisation_id": organisation_id, "role": role})


def move_staff(actor, user_id: int, from_organisation_id: int, to_organisation_id: int,
               role: str | None = None) -> Membership:
    """Move a member from one organisation to another (their role there: ``role``, default the one
    they had).  ``actor`` must manage both organisations.
    Order: the member as ``actor`` sees them (404), both organisations (404) and who may (403
    ``not_staff_manager``), then 404 ``membership_not_found`` (not in the first), 409
    ``membership_exists`` (already in the second), 422 ``same_organisation``."""
    user = _member_to_add(actor, user_id)
    src = _org_to_manage(actor, from_organisation_id)
    dst = _org_to_manage(actor, to_organisation_id)
    m = _membership(src.id, user.id)
    if m is None:
        raise NotFound("该工作人员不在原组织", code="membership_not_found",
                       details={"organisation_id": src.id, "user_id": user.id})
    if src.id == dst.id:
        raise ValidationFailed("原组织与新组织相同", code="same_organisation")
    if _membership(dst.id, user.id) is not None:
        raise Conflict("该工作人员已在新组织任职", code="membership_exists",
                       details={"organisation_id": dst.id, "user_id": user.id})
    new_role = _check_role(role or m.role)
    db.session.delete(m)
    db.session.flush()
    moved = Membership(user_id=user.id, organisation_id=dst.id, role=new_role)
    db.session.add(moved)
    db.session.flush()
    audit.record("staff.moved", "user", user.id, actor=actor,
                 data={"from_organisation_id": src.id, "to_organisation_id": dst.id, "role": new_role})
    return moved


# --- the forced password change ---------------------------------------------------------------------

def allowed_before_password_change(view):
    """Mark a view (function or MethodView class) that a member who must change their password may
    still call: the change itself, /me, logout, the console's login and password pages."""
    view.allowed_before_password_change = True
    return view


def password_change_gate():
    """``before_request`` (registered by :func:`civic.accounts.init_app`): a signed-in member whose
    ``must_change_password`` is set gets 403 ``password_change_required`` on every route not marked
    with :func:`allowed_before_password_change` (the console turns it into its password page)."""
    from flask import current_app, request
    from flask_login import current_user

    from civic.core.errors import CivicError

    endpoint = request.endpoint
    if endpoint is None or endpoint == "static" or endpoint.endswith(".static"):
        return None
    fn = current_app.view_functions.get(endpoint)
    if getattr(fn, "allowed_before_password_change", False) or getattr(
            getattr(fn, "view_class", None), "allowed_before_password_change", False):
        return None
    try:
        user = current_user._get_current_object() if current_user else None
        if user is None or not user.is_authenticated:
            return None
    except CivicError:
        return None  # a bad token: the view's own check answers 401
    if getattr(user, "must_change_password", False):
        raise Forbidden("请先修改初始密码后再继续", code="password_change_required")
    return None
