"""Issue #15 point 13: an edit that changes nothing makes no version, in every versioned object.

For every edit route of the OpenAPI document (every ``PATCH`` and ``PUT``, and every ``POST`` that
makes a version: ``.../edits``, ``.../rules``, ``.../versions``), :data:`TABLE` names a real object of
the demo street, who may edit it, and the bodies that change nothing: an empty one (where the route
takes one) and one with the object's own values.  Each such request must answer 200 with the object
as it was, and write nothing: no new row anywhere (no content version, rule-set version, audit entry
or notification), and no version counter, ``updated_at`` or public content version moved
(:func:`_snapshot` reads them all, in every table).  Routes that keep no version are listed in
:data:`NOT_VERSIONED` with the reason; a new edit route in neither fails
:func:`test_every_edit_route_is_in_the_table`.

All go through one helper, :func:`civic.core.db.edit`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from civic.core.db import commit
from civic.extensions import db

API = "/api/v1"

ROLES = {"li_si": ("openid", "li_si"), "zhang_san": ("openid", "zhang_san"),
         "rc_bj_zhou": ("username", "rc_bj_zhou"), "rc_bj_chen": ("username", "rc_bj_chen"),
         "vc_xf_hua": ("username", "vc_xf_hua")}


@dataclasses.dataclass(frozen=True)
class Case:
    """``path(ctx)`` the URL; ``who`` the demo role who edits; ``same(ctx, current)`` a body with the
    object's own values (``current``: what ``read`` answered); ``read(ctx)`` the URL whose answer is
    the object as it is (None: the edit route's own answers must agree); ``pick`` takes the object
    out of that answer; ``empty`` whether an empty body is a valid edit."""
    name: str
    path: Callable[[dict], str]
    who: str
    same: Callable[[dict, dict], dict]
    read: Callable[[dict], str] | None = None
    pick: Callable[[dict, dict], dict] = lambda ctx, answer: answer
    empty: dict | None = dataclasses.field(default_factory=dict)


def _latest_version(ctx, answer):
    return answer["versions"][-1]


def _moderation(kind: str, key: str, same: Callable[[dict], dict]) -> Case:
    return Case(f"moderator's edit of a {kind}", lambda c: f"{API}/moderation/{kind}/{c[key]}/edits", "rc_bj_zhou",
                lambda c, cur: {"content": same(cur["content"]), "reason": "核对无误"},
                read=lambda c: f"{API}/moderation/{kind}/{c[key]}", pick=_latest_version,
                empty={"content": {}, "reason": "核对无误"})


TABLE: dict[tuple[str, str], list[Case]] = {
    ("PATCH", "/api/v1/ideas/{idea_id}"): [
        Case("author's edit of a pending idea", lambda c: f"{API}/ideas/{c['idea']}", "li_si",
             lambda c, cur: {"title": cur["title"], "text": cur["text"], "category": cur["category"],
                             "photos": [p["token"] for p in cur["photos"]]},
             read=lambda c: f"{API}/ideas/{c['idea']}"),
    ],
    ("POST", "/api/v1/moderation/{item_type}/{item_id}/edits"): [
        _moderation("idea", "idea", lambda cur: {k: cur[k] for k in ("title", "text", "category")}),
        _moderation("comment", "comment", lambda cur: {"body": cur["body"]}),
        _moderation("topic", "topic", lambda cur: {"title": cur["title"], "text": cur["text"]}),
        _moderation("topic_comment", "topic_comment", lambda cur: {"body": cur["body"]}),
    ],
    ("POST", "/api/v1/committees/{committee_id}/rules"): [
        Case("rules of procedure", lambda c: f"{API}/committees/{c['committee']}/rules", "rc_bj_chen",
             lambda c, cur: {k: cur[k] for k in ("quorum", "quorum_strict", "majority", "majority_strict",
                                                 "majority_base", "abstentions", "notice_days",
                                                 "cosign_required", "cosign_days", "publish_days")},
             read=lambda c: f"{API}/committees/{c['committee']}/rules"),
    ],
    ("PUT", "/api/v1/meetings/{meeting_id}/minutes"): [
        Case("minutes", lambda c: f"{API}/meetings/{c['meeting']}/minutes", "li_si",
             lambda c, cur: {"minutes": cur["minutes"]}, read=lambda c: f"{API}/meetings/{c['meeting']}",
             empty=None),
    ],
    ("PUT", "/api/v1/contests/{contest_id}/schedule"): [
        Case("contest schedule", lambda c: f"{API}/contests/{c['contest']}/schedule", "rc_bj_chen",
             lambda c, cur: {"phases": cur["phases"]}, read=lambda c: f"{API}/contests/{c['contest']}",
             empty=None),
    ],
    ("PATCH", "/api/v1/village-disclosures/{disclosure_id}"): [
        Case("draft disclosure", lambda c: f"{API}/village-disclosures/{c['disclosure']}", "vc_xf_hua",
             lambda c, cur: {"title": cur["title"], "body": cur["body"]},
             read=lambda c: f"{API}/village-disclosures/{c['disclosure']}"),
        Case("draft finance disclosure", lambda c: f"{API}/village-disclosures/{c['finance']}", "vc_xf_hua",
             lambda c, cur: {"title": cur["title"], "body": cur["body"], "opening_balance": "1200.50",
                             "closing_balance": 100000, "lines": []},
             read=lambda c: f"{API}/village-disclosures/{c['finance']}"),
    ],
    ("PATCH", "/api/v1/villages/{village_code}/catalogue/{item_id}"): [
        Case("catalogue item", lambda c: f"{API}/villages/V-XF/catalogue/{c['catalogue_item']}", "vc_xf_hua",
             lambda c, cur: {k: cur[k] for k in ("title", "legal_basis", "cadence", "monthly_if_busy",
                                                 "due_days", "active")},
             read=lambda c: f"{API}/villages/V-XF/catalogue",
             pick=lambda c, answer: next(i for i in answer if i["id"] == c["catalogue_item"])),
    ],
    ("PATCH", "/api/v1/me"): [
        Case("a resident's own name", lambda c: f"{API}/me", "zhang_san",
             lambda c, cur: {"display_name": cur["display_name"]}, read=lambda c: f"{API}/me"),
    ],
    ("PATCH", "/api/v1/villages/{village_code}/settings"): [
        Case("village settings", lambda c: f"{API}/villages/V-XF/settings", "vc_xf_hua",
             lambda c, cur: {"many_transactions": cur["many_transactions"],
                             "tracking_since": cur["tracking_since"]}),
    ],
    # Staff accounts (civic.accounts.staff): 陈书记, head of 滨江社区居委会, edits 周社工's account and role.
    ("PATCH", "/api/v1/staff/{user_id}"): [
        Case("a staff member's name", lambda c: f"{API}/staff/{c['rc_bj_zhou_id']}", "rc_bj_chen",
             lambda c, cur: {"display_name": cur["display_name"]}, read=lambda c: f"{API}/staff/{c['rc_bj_zhou_id']}"),
    ],
    ("PATCH", "/api/v1/organisations/{organisation_id}/memberships/{user_id}"): [
        Case("a member's role", lambda c: f"{API}/organisations/{c['rc_bj_org']}/memberships/{c['rc_bj_zhou_id']}",
             "rc_bj_chen", lambda c, cur: {"role": next(m["role"] for m in cur["items"]
                                                        if m["user_id"] == c["rc_bj_zhou_id"])},
             read=lambda c: f"{API}/organisations/{c['rc_bj_org']}/memberships", empty=None),
    ],
}

# Edit routes that keep no version of what they change, and why.
NOT_VERSIONED = {
    ("PATCH", "/api/v1/uploads/{upload_id}"): "tus: appends bytes to an upload, edits nothing",
    ("PUT", "/api/v1/ideas/{idea_id}/support"): "a resident's support: added once, not edited",
    ("PUT", "/api/v1/ideas/{idea_id}/scores"): "a juror's scores: replaced whole, no version kept",
    ("PUT", "/api/v1/routing-rules/{category}"): "the routing table's row: replaced whole, no version kept",
    ("PUT", "/api/v1/calendar/notices/{year}"): "the year's State Council notice: replaced whole",
    ("PUT", "/api/v1/budget-projects/{project_id}/cost"): "a project's reviewed cost: replaced whole "
                                                          "before voting opens, each review audited",
    ("PUT", "/api/v1/budget-rounds/{round_id}/window"): "a round's voting window: replaced whole before "
                                                        "voting opens, audited",
    ("POST", "/api/v1/rosters/{roster_id}/versions"): "opening a new roster version is the act itself "
                                                      "(with its reason), not an edit of one",
}


def _edit_routes(spec: dict) -> set[tuple[str, str]]:
    out = set()
    for path, item in spec["paths"].items():
        for method in item:
            if method in ("patch", "put") or (
                    method == "post" and path.rsplit("/", 1)[-1] in ("edits", "rules", "versions")):
                out.add((method.upper(), path))
    return out


def test_every_edit_route_is_in_the_table(client):
    routes = _edit_routes(client.get(f"{API}/openapi.json").get_json())
    assert len(routes) >= 13
    missing = sorted(routes - set(TABLE) - set(NOT_VERSIONED))
    assert not missing, f"edit routes neither in the empty-edit table nor NOT_VERSIONED: {missing}"
    stale = sorted((set(TABLE) | set(NOT_VERSIONED)) - routes)
    assert not stale, f"rows for routes the document no longer has: {stale}"


# --- what "writes nothing" means -----------------------------------------------------------------

_MOVING = ("version", "row_version", "content_version", "updated_at", "changed_at")


def _snapshot() -> dict:
    """Every table's row count, and every version counter and change time of every row."""
    db.session.expire_all()
    out = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            out[table.name] = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
            cols = [table.c[name] for name in _MOVING if name in table.c]
            if cols:
                pk = list(table.primary_key.columns)
                out[f"{table.name}:moving"] = sorted(
                    tuple(map(str, row)) for row in conn.execute(sa.select(*pk, *cols)))
    return out


def _diff(before: dict, after: dict) -> dict:
    return {k: (before.get(k), after.get(k)) for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


# --- the demo objects ---------------------------------------------------------------------------

def _user(key: str):
    from civic.accounts.models import User

    field, value = ROLES[key]
    col = User.username if field == "username" else User.wechat_openid
    return db.session.scalar(sa.select(User).where(col == (value if field == "username" else f"dev-{value}")))


@pytest.fixture
def world(factory):
    from civic.demo import load_demo
    from civic.proposals.contests import service as contests
    from civic.proposals.contests.models import Idea
    from civic.proposals.deliberation.models import TopicComment
    from civic.village import service as village
    from civic.village.models import CatalogueItem

    summary = load_demo()
    commit()
    ctx: dict = {}
    ideas = {i.title: i for i in db.session.scalars(sa.select(Idea))}
    approved = ideas["3号楼前空地改造口袋花园"]
    ctx["idea"], ctx["contest"] = ideas["垃圾房周边种植爬藤遮挡"].id, approved.contest_id
    ctx["comment"] = contests.add_comment(_user("zhang_san"), approved.id, "支持，口袋花园要有座椅。").id
    d = summary["deliberation"]
    ctx["committee"], ctx["topic"] = d["committee_id"], d["topic_id"]
    from civic.proposals.deliberation import service as delib

    ctx["meeting"] = delib.get_motion(d["motion_ids"][1]).meeting_id
    ctx["topic_comment"] = db.session.scalar(sa.select(TopicComment.id).where(TopicComment.topic_id == ctx["topic"]))
    hua, xf = _user("vc_xf_hua"), village.village_by_code("V-XF")
    ctx["disclosure"] = village.create_disclosure(xf, {
        "item_code": "affairs.decisions", "period": "2030-Q1", "title": "村民代表会议决定事项（草稿）",
        "body": "拟将村东仓库出租，租金用于村内道路养护。"}, hua).id
    finance = db.session.scalar(sa.select(CatalogueItem).where(CatalogueItem.village_id == xf.id,
                                                               CatalogueItem.category == "finance"))
    period = "2030-01" if finance.cadence == "monthly" or village.ensure_village(xf).many_transactions else "2030-Q1"
    ctx["finance"] = village.create_disclosure(xf, {
        "item_code": finance.code, "period": period, "title": "财务收支（草稿）", "body": "",
        "opening_balance": 120050, "closing_balance": "1000.00"}, hua).id
    ctx["catalogue_item"] = finance.id
    from civic.property import service as registry

    ctx["rc_bj_org"], ctx["rc_bj_zhou_id"] = registry.organisation_by_code("O-RC-BJ").id, _user("rc_bj_zhou").id
    commit()
    ctx["headers"] = {k: factory.token(_user(k)) for k in ROLES}
    return ctx


def test_the_table_covers_every_versioned_kind_of_moderated_content(app):
    from civic.proposals.moderation.service import KINDS

    edited = {c.name.rsplit(" ", 1)[-1] for c in TABLE[("POST", "/api/v1/moderation/{item_type}/{item_id}/edits")]}
    assert edited == set(KINDS)


def test_an_edit_that_changes_nothing_makes_no_version(client, world):
    wrong = []
    for (method, _route), cases in TABLE.items():
        for case in cases:
            h = world["headers"][case.who]
            url = case.path(world)
            current = None
            if case.read is not None:
                r = client.get(case.read(world), headers=h)
                assert r.status_code == 200, (case.name, r.get_json())
                current = case.pick(world, r.get_json())
            bodies = {"empty": case.empty} if case.empty is not None else {}
            if current is None:  # no read route: the first empty edit tells the object as it is
                current = client.open(url, method=method, json=case.empty or {}, headers=h).get_json()
            bodies["same values"] = case.same(world, current)
            for label, body in bodies.items():
                before = _snapshot()
                r = client.open(url, method=method, json=body, headers=h)
                after = _snapshot()
                if r.status_code != 200:
                    wrong.append(f"{method} {url} ({case.name}, {label}): {r.status_code} {r.get_json()}")
                    continue
                if r.get_json() != current:
                    wrong.append(f"{method} {url} ({case.name}, {label}): answered {r.get_json()}, was {current}")
                changed = _diff(before, after)
                if changed:
                    wrong.append(f"{method} {url} ({case.name}, {label}): wrote {changed}")
    assert not wrong, "\n".join(wrong)


def test_a_real_edit_still_makes_its_version(client, world):
    """The other side: a change goes through, once, with its version (so the sweep above is not
    passing because nothing is ever written)."""
    h = world["headers"]
    r = client.patch(f"{API}/ideas/{world['idea']}", json={"text": "垃圾房周边种植爬藤，夏天遮阴也遮挡异味。"},
                     headers=h["li_si"])
    assert r.status_code == 200 and r.get_json()["version"] == 2
    versions = client.get(f"{API}/ideas/{world['idea']}/versions", headers=h["li_si"]).get_json()["items"]
    assert [v["version"] for v in versions] == [1, 2]
    r = client.post(f"{API}/moderation/comment/{world['comment']}/edits",
                    json={"content": {"body": "支持。"}, "reason": "精简"}, headers=h["rc_bj_zhou"])
    assert r.status_code == 201 and r.get_json()["version"] == 2
    r = client.post(f"{API}/committees/{world['committee']}/rules", json={"notice_days": 5},
                    headers=h["rc_bj_chen"])
    assert r.status_code == 201 and r.get_json()["notice_days"] == 5
    before = _snapshot()["audit_entry"]
    r = client.patch(f"{API}/village-disclosures/{world['disclosure']}", json={"title": "村民代表会议决定事项"},
                     headers=h["vc_xf_hua"])
    assert r.status_code == 200 and r.get_json()["title"] == "村民代表会议决定事项"
    assert _snapshot()["audit_entry"] == before + 1
