"""Issue #15 point 2: permission before state, on every write route.

For every write operation (``POST``, ``PUT``, ``PATCH``, ``DELETE``) of the OpenAPI document,
:data:`TABLE` names a real object of the demo street (``civic.demo.load_demo``, with the hidden
states of :func:`tests.foundation.test_visibility_sweep._build_world` and the wrong states added by
:func:`_build_world` here) **in a state where the action is not allowed** (a certified roster to
certify again, a closed motion to vote on, a closed case to message, an approved idea to approve
again...), a body that is valid for the route's schema, and the roles with no right to act on that
object.  Every such outsider must get:

* 404, as for an id that does not exist, where the object is hidden from them: the route's ``read``
  (the GET that shows the object, or its nearest parent) answers them 404;
* 403 where its existence is public to them (the ``read`` answers 200, or 403/409 for a reason
  that is the same for every object);
* 401 when anonymous;

never 409 or 422 (which would tell them the object's state or check their input against it) and
never a success.  The state check comes after the permission check in every verb, and so does every
check of the input that the verb makes.  What flask-smorest and the route check before the view
(the body's schema, a missing upload) is the same answer for every id, a missing one included, so it
tells nothing of the object: the rows send bodies and uploads that pass it, so that the verb's own
order is what is tested.

Each row's object must really be in a refused state: :func:`test_an_outsider_gets_403_or_404_before_any_state_check`
also sends the row as one role with the right to act (``insider``) and requires a 409 or 422 (or
says in ``no_probe`` why there is no state to refuse).

:func:`test_the_table_covers_every_write_route` fails when a write route is added without a row
(or an entry in :data:`EXEMPT`, with the reason it has no object to protect).
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable

import sqlalchemy as sa

from civic.core.db import commit
from civic.extensions import db
from tests.foundation.test_visibility_sweep import ROLES, SIGNED_IN, _user
from tests.foundation.test_visibility_sweep import _build_world as _visibility_world
from tests.shared import PHOTOS

API = "/api/v1"
EVERYONE = frozenset(SIGNED_IN)


def _jpeg() -> tuple[io.BytesIO, str]:
    p = PHOTOS / "ianare_landscape_2.jpg"
    return io.BytesIO(p.read_bytes()), p.name


@dataclasses.dataclass(frozen=True)
class Row:
    """One write on one object in a wrong state.

    ``params(ctx)``: the path parameters; ``body(ctx)``: ``("json", dict)`` or ``("form", dict)``
    (fresh each call: uploads are read once); ``allowed``: the roles with a right to act on the
    object (not sent: the state check may answer them); every other signed-in role is an outsider.
    ``read(ctx)``: the GET that shows the object (or its nearest parent) — an outsider it answers
    404 must get 404, any other outsider 403; without it, ``hidden`` names who must get 404.
    """
    name: str
    params: Callable[[dict], dict]
    body: Callable[[dict], tuple[str, dict]] | None
    allowed: frozenset
    read: Callable[[dict], str] | None = None
    hidden: frozenset = frozenset()
    insider: str | None = None  # who proves the state is wrong (409/422); default: the first allowed
    no_probe: str | None = None  # why no one with the right gets a 409/422 here (no state to refuse)


def J(data: dict | Callable[[dict], dict] | None = None):
    return lambda c: ("json", data(c) if callable(data) else dict(data or {}))


def F(data: dict | Callable[[dict], dict] | None = None, *, files: tuple[str, ...] = ()):
    def make(c):
        out = dict(data(c) if callable(data) else (data or {}))
        for f in files:
            out[f] = _jpeg()
        return ("form", out)
    return make


def _csv(text: str):
    return lambda c: ("form", {"file": (io.BytesIO(text.encode()), "x.csv")})


# Dated in the past: a schedule no contest may take (and a contest already under way may not move to).
_PHASES = {name: {"starts_at": f"2020-0{i + 1}-01T00:00:00+08:00", "ends_at": f"2020-0{i + 2}-01T00:00:00+08:00"}
           for i, name in enumerate(("submission", "moderation", "support", "review", "results", "implementation"))}

_OVERLAPPING = {name: {"starts_at": "2030-01-01T00:00:00+08:00", "ends_at": "2030-02-01T00:00:00+08:00"}
                for name in _PHASES}

# Who may act (the rules are in each verb's docstring):
OC_BJ = frozenset({"oc_bj_shi", "admin"})            # the owners' committee of 滨江花园 (+ administrators)
VILLAGE_COMMITTEE = frozenset({"vc_xf_hua", "admin"})
MODERATORS_BJ = frozenset({"rc_bj_zhou", "admin"})
RC_BJ = frozenset({"rc_bj_zhou", "admin"})            # 滨江社区居委会 (organiser, convenor)
ADMIN = frozenset({"admin"})

V = {  # the reads
    "vote_open": lambda c: f"{API}/votes/{c['vote_open']}",
    "vote_draft": lambda c: f"{API}/votes/{c['vote_draft']}",
    "roster": lambda c: f"{API}/rosters/{c['roster']}",
    "roster_draft": lambda c: f"{API}/rosters/{c['roster_draft']}",
    "case": lambda c: f"{API}/complaints/{c['case']}",
    "contest": lambda c: f"{API}/contests/{c['contest']}",
    "idea_approved": lambda c: f"{API}/ideas/{c['idea_approved']}",
    "idea_pending": lambda c: f"{API}/ideas/{c['idea_pending']}",
    "committee": lambda c: f"{API}/committees/{c['committee']}/members",
    "meeting": lambda c: f"{API}/meetings/{c['meeting']}",
    "topic": lambda c: f"{API}/topics/{c['topic']}",
    "topic_hidden": lambda c: f"{API}/topics/{c['topic_hidden']}",
    "motion": lambda c: f"{API}/motions/{c['motion']}",
    "disclosure": lambda c: f"{API}/village-disclosures/{c['disclosure']}",
    "staff_he": lambda c: f"{API}/staff/{c['staff_he']}",
    "disclosure_draft": lambda c: f"{API}/village-disclosures/{c['disclosure_draft']}",
    "village": lambda c: f"{API}/villages/V-XF/catalogue",
    "inquiries": lambda c: f"{API}/villages/V-XF/inquiries",
    "claim_refused": lambda c: f"{API}/unit-claims/{c['claim_refused']}",
    "budget_round": lambda c: f"{API}/budget-rounds/{c['budget_round']}",
}
# civic.residents.service: who decides a claim on a unit of the certified roster, who ends a tie.
CLAIM_VERIFIERS_BJ = frozenset({"oc_bj_shi", "admin"})
ZHANG_UNLINKERS = frozenset({"zhang_san", "rc_bj_zhou", "oc_bj_shi", "admin"})
REGISTER_KEEPERS = frozenset({"rc_bj_zhou", "rc_kc_wu", "oc_bj_shi", "oc_kc_kong", "admin"})

BJ_VOTERS = frozenset({"zhang_san", "li_si", "zhao_liu"})  # residents with a unit in 滨江花园

TABLE: dict[tuple[str, str], list[Row]] = {
    # --- budget rounds: 滨江社区居委会's round over 滨江花园, in voting (its head and handlers: none of
    # the roles here, so administrators) ------------------------------------------------------------
    ("post", "/api/v1/budget-rounds"): [
        Row("a round whose voting closes before it opens", lambda c: {},
            J(lambda c: {"organisation_id": c["rc_bj_org"], "title": "微更新", "budget": 100, "rule": "greedy",
                         "vote_unit": "resident", "ballot_mode": "budget", "place_ids": [c["compound"]],
                         "voting_opens_at": "2030-02-01T00:00:00+08:00",
                         "voting_closes_at": "2030-01-01T00:00:00+08:00"}), ADMIN)],
    ("put", "/api/v1/budget-rounds/{round_id}/window"): [
        Row("a round in voting", lambda c: {"round_id": c["budget_round"]},
            J({"voting_opens_at": "2030-01-01T00:00:00+08:00", "voting_closes_at": "2030-02-01T00:00:00+08:00"}),
            ADMIN, V["budget_round"])],
    ("post", "/api/v1/budget-rounds/{round_id}/transitions"): [
        Row("voting straight to carrying out", lambda c: {"round_id": c["budget_round"]}, J({"to": "carrying_out"}),
            ADMIN, V["budget_round"])],
    ("post", "/api/v1/budget-rounds/{round_id}/projects"): [
        Row("a project added during voting", lambda c: {"round_id": c["budget_round"]},
            J(lambda c: {"source": "idea", "source_id": c["idea_approved"]}), ADMIN, V["budget_round"])],
    ("put", "/api/v1/budget-projects/{project_id}/cost"): [
        Row("a cost frozen by voting", lambda c: {"project_id": c["budget_project"]},
            J(lambda c: {"cost": 1000, "feasibility_note": "重新报价", "implementing_organisation_id": c["rc_bj_org"]}),
            ADMIN, V["budget_round"])],
    ("post", "/api/v1/budget-projects/{project_id}/milestones"): [
        Row("a milestone before the result", lambda c: {"project_id": c["budget_project"]}, J({"title": "选址"}),
            ADMIN, V["budget_round"])],
    ("post", "/api/v1/budget-rounds/{round_id}/ballot"): [
        Row("an empty ballot", lambda c: {"round_id": c["budget_round"]}, J({"project_ids": []}), BJ_VOTERS,
            V["budget_round"])],
    ("post", "/api/v1/budget-rounds/{round_id}/paper-ballots"): [
        Row("an empty paper ballot", lambda c: {"round_id": c["budget_round"]},
            J(lambda c: {"resident_id": c["zhang_san_id"], "project_ids": []}), ADMIN, V["budget_round"])],
    ("post", "/api/v1/budget-paper-ballots/{entry_id}/confirmation"): [
        Row("a confirmed paper ballot", lambda c: {"entry_id": c["budget_paper"]}, None, ADMIN, V["budget_round"])],
    ("post", "/api/v1/budget-rounds/{round_id}/publication"): [
        Row("publication during voting", lambda c: {"round_id": c["budget_round"]}, None, ADMIN, V["budget_round"])],
    # --- accounts, registry, calendar: administrators only -----------------------------------------
    ("post", "/api/v1/registry/import/places"): [
        Row("CSV of places", lambda c: {}, _csv("kind,code,name\nnonsense,X-1,无\n"), ADMIN)],
    ("post", "/api/v1/registry/import/organisations"): [
        Row("CSV of organisations", lambda c: {}, _csv("kind,code,name\nnonsense,X-1,无\n"), ADMIN)],
    # --- residents and their homes --------------------------------------------------------------
    ("post", "/api/v1/unit-claims/{claim_id}/confirm"): [
        Row("周八's refused claim", lambda c: {"claim_id": c["claim_refused"]}, None, CLAIM_VERIFIERS_BJ,
            read=V["claim_refused"])],
    ("post", "/api/v1/unit-claims/{claim_id}/refuse"): [
        Row("周八's refused claim", lambda c: {"claim_id": c["claim_refused"]}, J({"reason": "材料不清"}),
            CLAIM_VERIFIERS_BJ, read=V["claim_refused"])],
    ("delete", "/api/v1/my/units/{link_id}"): [
        Row("张三's tie to his unit", lambda c: {"link_id": c["link_zhang"]}, None, frozenset({"zhang_san"}),
            hidden=EVERYONE - {"zhang_san"}, no_probe="a tie has no state: it exists, or it is gone")],
    ("delete", "/api/v1/unit-residents/{link_id}"): [
        Row("张三's tie to his unit", lambda c: {"link_id": c["link_zhang"]}, None, ZHANG_UNLINKERS,
            hidden=EVERYONE - ZHANG_UNLINKERS, no_probe="a tie has no state: it exists, or it is gone")],
    ("post", "/api/v1/unit-residents/import"): [
        Row("a register naming no registered unit", lambda c: {},
            _csv("unit_code,name,phone,relation\nNOPE,王五,13900000013,owner\n"), REGISTER_KEEPERS)],
    ("put", "/api/v1/calendar/notices/{year}"): [
        Row("a notice that names only some holidays", lambda c: {"year": 2026},
            J({"holidays": [{"name": "春节", "start": "2026-02-15", "end": "2026-02-23"}]}), ADMIN)],
    ("put", "/api/v1/routing-rules/{category}"): [
        Row("a rule for a category", lambda c: {"category": "noise"},
            J({"lead_kind": "police", "acknowledge": {"hours": 24}, "resolve": {"working_days": 5}}), ADMIN)],
    ("post", "/api/v1/open311/partners"): [
        Row("a partner key", lambda c: {}, J({"partner_name": "12345市民服务热线"}), ADMIN,
            no_probe="a new key: no object, no state")],
    ("post", "/api/v1/open311/partners/{key_id}/revoke"): [
        Row("a revoked key", lambda c: {"key_id": c["partner_key"]}, None, ADMIN)],
    ("post", "/api/v1/me/notifications/{notification_id}/read"): [
        Row("张三's notification", lambda c: {"notification_id": c["notification"]}, None,
            frozenset({"zhang_san"}), hidden=EVERYONE, no_probe="marking read again changes nothing")],
    # --- complaints: 张三's case, closed ------------------------------------------------------------
    ("post", "/api/v1/complaints/{complaint_id}/transitions"): [
        Row("closed case, acknowledge on a stale version", lambda c: {"complaint_id": c["case"]},
            J({"action": "acknowledge", "version": 1}), frozenset({"oc_bj_shi"}), V["case"])],  # the lead
    # (a complaint about the property company's service is led by the owners' committee: issue #18)
    ("post", "/api/v1/complaints/{complaint_id}/photos"): [
        Row("closed case, no photo", lambda c: {"complaint_id": c["case"]}, F(),
            frozenset({"oc_bj_shi"}), V["case"])],
    # The blur review is the lead's (complaints photos._reviewer); the photo's blur is still
    # pending here (the sweep runs no jobs): 409 photo_blur_pending for the lead.
    ("post", "/api/v1/complaints/{complaint_id}/photos/{token}/blur/regions"): [
        Row("a photo still being blurred", lambda c: {"complaint_id": c["case"], "token": c["case_photo"]},
            J({"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2}), frozenset({"oc_bj_shi"}), V["case"])],
    ("delete", "/api/v1/complaints/{complaint_id}/photos/{token}/blur/regions/{region_id}"): [
        Row("a photo still being blurred", lambda c: {"complaint_id": c["case"], "token": c["case_photo"],
                                                      "region_id": "0a1b2c3d"},
            None, frozenset({"oc_bj_shi"}), V["case"])],
    ("post", "/api/v1/complaints/{complaint_id}/messages"): [
        Row("closed case, a blank message", lambda c: {"complaint_id": c["case"]}, J({"body": "  "}),
            frozenset({"zhang_san", "pc_sm_he", "oc_bj_shi", "rc_bj_zhou", "sc_wang"}), V["case"])],
    ("post", "/api/v1/complaints/{complaint_id}/rating"): [
        Row("closed case, rated already", lambda c: {"complaint_id": c["case"]}, J({"rating": 5}),
            frozenset({"zhang_san"}), V["case"])],
    ("post", "/api/v1/complaints/{complaint_id}/complainant"): [
        Row("closed case, a blank reason", lambda c: {"complaint_id": c["case"]}, J({"reason": "  "}),
            frozenset({"pc_sm_he", "oc_bj_shi", "rc_bj_zhou", "sc_wang"}), V["case"])],
    # "Me too" (civic.complaints.service.supporters): a neighbour in 滨江花园 may join 张三's case when
    # it is open (closed here: 409); 张三 reports it (403 own_case); residents elsewhere do not see it
    # near them (404); staff and administrators are not residents (403).
    ("post", "/api/v1/complaints/{complaint_id}/supporters"): [
        Row("closed case, a neighbour's me too", lambda c: {"complaint_id": c["case"]}, F(),
            frozenset({"li_si", "zhao_liu"}), hidden=frozenset({"zhou_ba", "xf_villager", "wu_jiu"}))],
    ("delete", "/api/v1/complaints/{complaint_id}/supporters"): [
        Row("closed case, leaving", lambda c: {"complaint_id": c["case"]}, None,
            frozenset({"li_si", "zhao_liu"}), hidden=frozenset({"zhou_ba", "xf_villager", "wu_jiu"}),
            no_probe="leaving is allowed in every state: following a case is the resident's own choice")],
    # --- village affairs disclosure (新丰村: the village is public) -----------------------------------
    ("post", "/api/v1/villages/{village_code}/catalogue"): [
        Row("a code the catalogue has", lambda c: {"village_code": "V-XF"},
            J({"code": "finance.accounts", "category": "finance", "title": "财务收支", "legal_basis": "组织法第三十条",
               "cadence": "quarterly"}), VILLAGE_COMMITTEE, V["village"])],
    ("patch", "/api/v1/villages/{village_code}/catalogue/{item_id}"): [
        Row("a catalogue item", lambda c: {"village_code": "V-XF", "item_id": c["catalogue_item"]},
            J({"cadence": "yearly", "due_days": 0}), VILLAGE_COMMITTEE, V["village"],
            no_probe="any valid change is taken: no state")],
    ("patch", "/api/v1/villages/{village_code}/settings"): [
        Row("settings", lambda c: {"village_code": "V-XF"}, J({"tracking_since": "1900-01-01"}),
            VILLAGE_COMMITTEE, V["village"], no_probe="any valid change is taken: no state")],
    ("post", "/api/v1/villages/{village_code}/members"): [
        Row("a member already appointed", lambda c: {"village_code": "V-XF"},
            J(lambda c: {"organisation_id": c["vc_org"], "user_id": c["vc_xf_hua_id"]}),
            frozenset({"sc_wang", "admin"}), V["village"])],  # the town's street centre appoints
    ("post", "/api/v1/villages/{village_code}/disclosures"): [
        Row("a period the item's cadence has not", lambda c: {"village_code": "V-XF"},
            J(lambda c: {"item_code": "affairs.decisions", "period": "2030-13", "title": "村民代表会议决定事项"}),
            VILLAGE_COMMITTEE, V["village"])],
    ("patch", "/api/v1/village-disclosures/{disclosure_id}"): [
        Row("published (not editable)", lambda c: {"disclosure_id": c["disclosure"]}, J({"title": "改"}),
            VILLAGE_COMMITTEE, V["disclosure"]),
        Row("draft", lambda c: {"disclosure_id": c["disclosure_draft"]}, J({"title": ""}),
            VILLAGE_COMMITTEE, V["disclosure_draft"]),
    ],
    ("delete", "/api/v1/village-disclosures/{disclosure_id}/lines/{line_id}"): [
        Row("line of a published disclosure", lambda c: {"disclosure_id": c["disclosure"], "line_id": c["line"]},
            None, VILLAGE_COMMITTEE, V["disclosure"])],
    ("post", "/api/v1/village-disclosures/{disclosure_id}/lines/{line_id}/vouchers"): [
        Row("line of a published disclosure", lambda c: {"disclosure_id": c["disclosure"], "line_id": c["line"]},
            F(files=("photos",)), VILLAGE_COMMITTEE, V["disclosure"])],
    ("post", "/api/v1/village-disclosures/{disclosure_id}/transitions"): [
        Row("published, submit", lambda c: {"disclosure_id": c["disclosure"]}, J({"action": "submit"}),
            VILLAGE_COMMITTEE | {"vs_xf_jin"}, V["disclosure"]),
        Row("draft, publish", lambda c: {"disclosure_id": c["disclosure_draft"]}, J({"action": "publish"}),
            VILLAGE_COMMITTEE | {"vs_xf_jin"}, V["disclosure_draft"]),
    ],
    ("post", "/api/v1/village-disclosures/{disclosure_id}/corrections"): [
        Row("a draft (only published ones are corrected)", lambda c: {"disclosure_id": c["disclosure_draft"]},
            J({"reason": "录入错误", "title": "更正"}), VILLAGE_COMMITTEE, V["disclosure_draft"])],
    ("post", "/api/v1/village-disclosures/{disclosure_id}/inquiries"): [
        Row("a draft (nothing to ask about yet)", lambda c: {"disclosure_id": c["disclosure_draft"]},
            J({"question": "仓库租给谁了？"}), frozenset(), V["disclosure_draft"]),
        Row("published, asked by a non-villager", lambda c: {"disclosure_id": c["disclosure"]},
            J({"question": "" + "问" * 5000}), frozenset({"xf_villager"}), V["disclosure"]),
    ],
    ("post", "/api/v1/village-inquiries/{inquiry_id}/answer"): [
        Row("answered already", lambda c: {"inquiry_id": c["inquiry"]}, J({"answer": "已答复"}),
            VILLAGE_COMMITTEE, V["inquiries"])],
    # --- owners' votes --------------------------------------------------------------------------
    ("post", "/api/v1/rosters"): [
        Row("a unit of 滨江花园 (a roster is for a compound or a building)", lambda c: {},
            J(lambda c: {"place_id": c["bj_unit"], "source": "registry"}), OC_BJ)],
    ("post", "/api/v1/rosters/{roster_id}/import"): [
        Row("certified roster", lambda c: {"roster_id": c["roster"]}, _csv("unit_code,area\n"), OC_BJ, V["roster"])],
    ("post", "/api/v1/rosters/{roster_id}/certify"): [
        Row("certified already", lambda c: {"roster_id": c["roster"]}, J({}), OC_BJ, V["roster"])],
    ("post", "/api/v1/rosters/{roster_id}/versions"): [
        Row("a draft version (changed in place, not versioned)", lambda c: {"roster_id": c["roster_draft"]},
            J({"reason": "业主变更"}), OC_BJ, V["roster_draft"])],
    ("post", "/api/v1/votes"): [
        Row("a counting mode its rules do not enable", lambda c: {},
            J(lambda c: {"roster_id": c["roster"], "title": "表决", "counting_mode": "deemed_abstain"}), OC_BJ,
            V["roster"])],
    ("post", "/api/v1/votes/{vote_id}/transition"): [
        Row("open vote, announce", lambda c: {"vote_id": c["vote_open"]}, J({"action": "announce"}),
            OC_BJ, V["vote_open"]),
        Row("draft vote, publish", lambda c: {"vote_id": c["vote_draft"]}, J({"action": "publish"}),
            OC_BJ, V["vote_draft"]),
    ],
    ("post", "/api/v1/votes/{vote_id}/matters"): [
        Row("open vote", lambda c: {"vote_id": c["vote_open"]}, J({"number": 9, "title": "其他"}), OC_BJ, V["vote_open"]),
        Row("draft vote, a blank title", lambda c: {"vote_id": c["vote_draft"]}, J({"number": 5, "title": "  "}),
            OC_BJ, V["vote_draft"]),
    ],
    ("post", "/api/v1/votes/{vote_id}/matters/{matter_id}/attachments"): [
        Row("matter of an open vote", lambda c: {"vote_id": c["vote_open"], "matter_id": c["matter_open"]},
            F(files=("files",)), OC_BJ, V["vote_open"]),
        Row("matter of a draft vote", lambda c: {"vote_id": c["vote_draft"], "matter_id": c["matter_draft"]},
            F(), OC_BJ, V["vote_draft"]),
    ],
    ("post", "/api/v1/votes/{vote_id}/deliveries"): [
        Row("draft vote", lambda c: {"vote_id": c["vote_draft"]},
            J(lambda c: {"roster_unit_ids": [c["roster_unit"]], "method": "hand"}), OC_BJ, V["vote_draft"])],
    ("post", "/api/v1/votes/{vote_id}/verify"): [
        Row("draft vote", lambda c: {"vote_id": c["vote_draft"]}, J({"phone": "13900000001"}),
            frozenset(), V["vote_draft"]),  # a draft is announced to no owner yet
        # Verifying is how an owner comes to see an announced vote, so it answers those who do not
        # see it yet; an announced vote is public notice to the compound (上海市住宅物业管理规定 Art. 16,
        # 业主大会 notice): its existence is public, a phone not on its roster gets 403.
        Row("open vote, by a phone not on its roster", lambda c: {"vote_id": c["vote_open"]},
            J({"phone": "13900000006"}), frozenset({"zhang_san"}), None, insider="zhang_san",
            no_probe="zhang_san verifies by his own phone: a repeat is taken")],
    ("post", "/api/v1/votes/{vote_id}/proxies"): [
        Row("draft vote", lambda c: {"vote_id": c["vote_draft"]},
            F(lambda c: {"principal_person_id": c["person_li_si"], "holder_name": "吴九", "holder_phone": "13900000007"},
              files=("scan",)), OC_BJ, V["vote_draft"])],
    ("post", "/api/v1/votes/{vote_id}/ballot"): [
        Row("draft vote", lambda c: {"vote_id": c["vote_draft"]}, J({"choices": {}}), frozenset(), V["vote_draft"]),
        Row("open vote, voted already", lambda c: {"vote_id": c["vote_open"]},
            J(lambda c: {"choices": {str(c["matter_open"]): "agree"}}), frozenset({"zhang_san", "wu_jiu"}),
            V["vote_open"], insider="zhang_san"),
    ],
    ("post", "/api/v1/votes/{vote_id}/paper-ballots"): [
        Row("draft vote", lambda c: {"vote_id": c["vote_draft"]},
            F(lambda c: {"roster_unit_id": c["roster_unit"], "choices": "{}", "signer_kind": "owner",
                         "signer_person_id": c["person_li_si"]}, files=("scan",)), OC_BJ,
            V["vote_draft"])],
    ("post", "/api/v1/paper-ballots/{entry_id}/confirm"): [
        Row("confirmed already", lambda c: {"entry_id": c["paper_entry"]}, None, OC_BJ, V["vote_open"])],
    ("post", "/api/v1/paper-ballots/{entry_id}/withdraw"): [
        Row("confirmed entry, by a member not the head", lambda c: {"entry_id": c["paper_entry"]},
            J({"reason": "录入错误"}), OC_BJ | {"oc_bj_zhang"}, V["vote_open"], insider="oc_bj_zhang")],
    # --- 金点子 contests (the contest is public) -----------------------------------------------------
    ("post", "/api/v1/contests"): [
        Row("for 滨江社区居委会", lambda c: {},
            J(lambda c: {"organisation_id": c["rc_bj_org"], "theme": "征集", "place_ids": [c["compound"]],
                         "criteria": [{"name": "可行性", "weight": 50}, {"name": "可行性", "weight": 50}],
                         "phases": _PHASES}), RC_BJ | {"sc_wang"})],  # two criteria of one name
    ("put", "/api/v1/contests/{contest_id}/schedule"): [
        Row("overlapping phases", lambda c: {"contest_id": c["contest"]}, J({"phases": _OVERLAPPING}),
            RC_BJ, V["contest"])],
    ("post", "/api/v1/contests/{contest_id}/jurors"): [
        Row("a juror already", lambda c: {"contest_id": c["contest"]}, J(lambda c: {"user_id": c["juror_id"]}),
            RC_BJ, V["contest"])],
    ("post", "/api/v1/contests/{contest_id}/ideas"): [
        Row("an invalid category", lambda c: {"contest_id": c["contest"]},
            J({"title": "点子", "text": "一个点子", "category": "不存在的类别"}),
            frozenset({"zhang_san", "li_si", "zhao_liu"}), V["contest"])],
    ("patch", "/api/v1/ideas/{idea_id}"): [
        Row("approved idea of 张三", lambda c: {"idea_id": c["idea_approved"]}, J({"category": "不存在的类别"}),
            frozenset({"zhang_san"}), V["idea_approved"]),
        Row("pending idea of 李四", lambda c: {"idea_id": c["idea_pending"]}, J({"category": "不存在的类别"}),
            frozenset({"li_si"}), V["idea_pending"]),
    ],
    ("post", "/api/v1/ideas/{idea_id}/comments"): [
        Row("pending idea", lambda c: {"idea_id": c["idea_pending"]}, J({"body": "赞成"}),
            frozenset({"li_si"}) | MODERATORS_BJ, V["idea_pending"])],
    ("put", "/api/v1/ideas/{idea_id}/support"): [
        Row("pending idea", lambda c: {"idea_id": c["idea_pending"]}, None,
            frozenset({"li_si", "zhang_san", "zhao_liu"}), V["idea_pending"])],
    ("delete", "/api/v1/ideas/{idea_id}/support"): [
        Row("pending idea", lambda c: {"idea_id": c["idea_pending"]}, None,
            frozenset({"li_si", "zhang_san", "zhao_liu"}), V["idea_pending"])],
    ("put", "/api/v1/ideas/{idea_id}/scores"): [
        Row("approved idea, before the jury's phase", lambda c: {"idea_id": c["idea_approved"]},
            J({"scores": {}}), frozenset({"rr_bj_yan", "sun_qi"}), V["idea_approved"]),
        Row("pending idea", lambda c: {"idea_id": c["idea_pending"]}, J({"scores": {}}),
            frozenset(), V["idea_pending"]),
    ],
    ("post", "/api/v1/contests/{contest_id}/ranking"): [
        Row("before the results phase", lambda c: {"contest_id": c["contest"]}, None, RC_BJ, V["contest"])],
    ("post", "/api/v1/ideas/{idea_id}/adopt"): [
        Row("approved idea, ranking not published", lambda c: {"idea_id": c["idea_approved"]},
            J(lambda c: {"organisation_id": c["pc_org"]}), RC_BJ, V["idea_approved"]),
        Row("pending idea", lambda c: {"idea_id": c["idea_pending"]},
            J(lambda c: {"organisation_id": c["pc_org"]}), RC_BJ, V["idea_pending"]),
    ],
    ("post", "/api/v1/ideas/{idea_id}/implementation/status"): [
        Row("adopted idea, an invalid status move", lambda c: {"idea_id": c["idea_approved"]},
            J({"status": "completed"}), RC_BJ | {"pc_sm_he"}, V["idea_approved"])],
    ("post", "/api/v1/ideas/{idea_id}/milestones"): [
        Row("adopted idea, before implementation", lambda c: {"idea_id": c["idea_approved"]},
            J({"title": "选址"}), RC_BJ | {"pc_sm_he"}, V["idea_approved"])],
    ("post", "/api/v1/milestones/{milestone_id}/updates"): [
        Row("a milestone, progress backwards", lambda c: {"milestone_id": c["milestone"]},
            J({"progress": 0}), RC_BJ | {"pc_sm_he"}, V["idea_approved"])],
    # --- moderation (shared): an approved idea, a pending one -------------------------------------
    ("post", "/api/v1/moderation/{item_type}/{item_id}/reports"): [
        Row("pending idea (not shown: nobody reports it)", lambda c: {"item_type": "idea", "item_id": c["idea_pending"]},
            J({"reason": "广告"}), frozenset(), V["idea_pending"]),
        Row("approved idea, reported already", lambda c: {"item_type": "idea", "item_id": c["idea_approved"]},
            J({"reason": "广告"}), frozenset({"li_si", "zhao_liu"}), V["idea_approved"], insider="li_si"),
    ],
    ("post", "/api/v1/moderation/{item_type}/{item_id}/decisions"): [
        Row("approved idea, approve again", lambda c: {"item_type": "idea", "item_id": c["idea_approved"]},
            J({"action": "approve"}), MODERATORS_BJ, V["idea_approved"]),
        Row("pending idea, hide without a reason", lambda c: {"item_type": "idea", "item_id": c["idea_pending"]},
            J({"action": "hide"}), MODERATORS_BJ, V["idea_pending"]),
    ],
    ("post", "/api/v1/moderation/{item_type}/{item_id}/edits"): [
        Row("approved idea, a field it has not", lambda c: {"item_type": "idea", "item_id": c["idea_approved"]},
            J({"content": {"title": "  "}, "reason": "删除电话号码"}), MODERATORS_BJ, V["idea_approved"]),
        Row("pending idea", lambda c: {"item_type": "idea", "item_id": c["idea_pending"]},
            J({"content": {"title": "  "}, "reason": "删除电话号码"}), MODERATORS_BJ, V["idea_pending"]),
    ],
    ("post", "/api/v1/moderation/{item_type}/{item_id}/appeal"): [
        Row("approved idea (nothing to appeal)", lambda c: {"item_type": "idea", "item_id": c["idea_approved"]},
            J({"text": "请重新审核"}), frozenset({"zhang_san"}), V["idea_approved"]),
        Row("hidden topic of 赵六, appealed already", lambda c: {"item_type": "topic", "item_id": c["topic_hidden"]},
            J({"text": "请重新审核"}), frozenset({"zhao_liu"}), V["topic_hidden"]),
    ],
    ("post", "/api/v1/moderation/{item_type}/{item_id}/appeal/decision"): [
        Row("approved idea (no appeal)", lambda c: {"item_type": "idea", "item_id": c["idea_approved"]},
            J({"outcome": "upheld"}), MODERATORS_BJ, V["idea_approved"]),
        Row("hidden topic, its appeal decided", lambda c: {"item_type": "topic", "item_id": c["topic_hidden"]},
            J({"outcome": "upheld"}), MODERATORS_BJ, V["topic_hidden"]),
    ],
    # --- deliberation (the committee, its meetings and shown topics are public) ------------------
    ("post", "/api/v1/committees"): [
        Row("for 滨江社区居委会", lambda c: {},
            J(lambda c: {"kind": "lane_committee", "name": "弄管会", "place_id": c["compound"],
                         "organisation_id": c["rc_bj_org"]}), RC_BJ | {"sc_wang"})],
    ("post", "/api/v1/committees/{committee_id}/members"): [
        Row("a member already", lambda c: {"committee_id": c["committee"]},
            J(lambda c: {"user_id": c["zhang_san_id"], "role": "member", "speaks_for": "residents",
                         "term_start": "2020-01-01", "term_end": "2019-01-01"}), RC_BJ | {"rc_bj_chen"},
            V["committee"])],  # a term that ends before it starts
    ("post", "/api/v1/committees/{committee_id}/rules"): [
        Row("an invalid quorum", lambda c: {"committee_id": c["committee"]}, J({"quorum": "3/2"}),
            RC_BJ | {"rc_bj_chen"}, V["committee"])],
    ("post", "/api/v1/committees/{committee_id}/topics"): [
        Row("a title too long", lambda c: {"committee_id": c["committee"]},
            J({"title": "题" * 500, "text": "内容"}), frozenset({"zhang_san", "li_si", "zhao_liu", "sun_qi",
                                                                 "wang_wu"}) | {"pc_sm_sun", "sc_wang"},
            V["committee"])],
    ("post", "/api/v1/topics/{topic_id}/cosignatures"): [
        Row("closed topic", lambda c: {"topic_id": c["topic"]}, None,
            frozenset({"zhang_san", "li_si", "zhao_liu"}), V["topic"]),
        Row("hidden topic", lambda c: {"topic_id": c["topic_hidden"]}, None, frozenset(), V["topic_hidden"]),
    ],
    ("post", "/api/v1/topics/{topic_id}/schedule"): [
        Row("closed topic", lambda c: {"topic_id": c["topic"]}, None, frozenset({"zhang_san", "li_si"}), V["topic"]),
        Row("hidden topic", lambda c: {"topic_id": c["topic_hidden"]}, None, frozenset(), V["topic_hidden"]),
    ],
    ("post", "/api/v1/topics/{topic_id}/decline"): [
        Row("closed topic", lambda c: {"topic_id": c["topic"]}, J({"reason": "不属于本会议事范围"}),
            frozenset({"zhang_san", "li_si"}), V["topic"]),
        Row("hidden topic", lambda c: {"topic_id": c["topic_hidden"]}, J({"reason": "不属于本会议事范围"}),
            frozenset(), V["topic_hidden"]),
    ],
    ("post", "/api/v1/topics/{topic_id}/owners-referral"): [
        Row("closed topic", lambda c: {"topic_id": c["topic"]}, J({"note": "涉及共有部分"}),
            frozenset({"zhang_san", "li_si"}), V["topic"])],
    ("post", "/api/v1/topics/{topic_id}/comments"): [
        Row("hidden topic", lambda c: {"topic_id": c["topic_hidden"]}, J({"body": "同意"}),
            frozenset({"zhao_liu"}) | MODERATORS_BJ, V["topic_hidden"]),
        Row("closed topic, by someone outside the lane", lambda c: {"topic_id": c["topic"]}, J({"body": ""}),
            frozenset({"zhang_san", "li_si", "zhao_liu", "pc_sm_he", "sc_wang", "rc_bj_zhou", "admin"}), V["topic"]),
    ],
    ("post", "/api/v1/committees/{committee_id}/meetings"): [
        Row("on a closed topic", lambda c: {"committee_id": c["committee"]},
            J(lambda c: {"title": "第二次会议", "starts_at": "2020-01-01T10:00:00+08:00", "topic_ids": [c["topic"]]}),
            frozenset({"zhang_san", "li_si"}), V["committee"])],
    ("post", "/api/v1/meetings/{meeting_id}/check-in"): [
        Row("past meeting, a wrong code", lambda c: {"meeting_id": c["meeting"]}, J({"code": "000000"}),
            frozenset({"zhang_san", "li_si", "sc_wang"}), V["meeting"])],
    ("post", "/api/v1/meetings/{meeting_id}/attendance"): [
        Row("past meeting, present already", lambda c: {"meeting_id": c["meeting"]},
            J(lambda c: {"user_id": c["zhang_san_id"]}), frozenset({"zhang_san", "li_si"}), V["meeting"])],
    ("put", "/api/v1/meetings/{meeting_id}/minutes"): [
        Row("past meeting, empty minutes", lambda c: {"meeting_id": c["meeting"]}, J({"minutes": ""}),
            frozenset({"zhang_san", "li_si"}), V["meeting"])],
    ("post", "/api/v1/meetings/{meeting_id}/motions"): [
        Row("on a closed topic", lambda c: {"meeting_id": c["meeting"]},
            J(lambda c: {"topic_id": c["topic"], "text": "再议"}), frozenset({"zhang_san", "li_si"}), V["meeting"])],
    ("post", "/api/v1/motions/{motion_id}/votes"): [
        Row("closed motion", lambda c: {"motion_id": c["motion"]}, J({"choice": "agree"}),
            frozenset({"zhang_san", "li_si", "sc_wang"}), V["motion"])],
    ("post", "/api/v1/motions/{motion_id}/close"): [
        Row("closed motion", lambda c: {"motion_id": c["motion"]}, J({}), frozenset({"zhang_san", "li_si"}),
            V["motion"])],
    ("post", "/api/v1/resolutions/{resolution_id}/action-items"): [
        Row("a blank title", lambda c: {"resolution_id": c["resolution"]},
            J(lambda c: {"title": "  ", "organisation_id": c["pc_org"], "due_on": "2030-01-01"}),
            frozenset({"zhang_san", "li_si"}), V["motion"])],
    ("post", "/api/v1/action-items/{item_id}/updates"): [
        Row("closed item", lambda c: {"item_id": c["action_item"]}, F({"note": "进展"}),
            frozenset({"pc_sm_he", "zhang_san", "li_si"}), V["motion"])],  # the carrier, the officers
    ("post", "/api/v1/action-items/{item_id}/close"): [
        Row("closed item", lambda c: {"item_id": c["action_item"]}, F({"note": "办结"}),
            frozenset({"pc_sm_he", "zhang_san", "li_si"}), V["motion"])],
}

# The blur review of every other blurred kind (civic.core.blur.review; the photos' blur is still
# pending here, the sweep runs no jobs: 409 photo_blur_pending for the reviewer): a contest photo's by
# the organiser's moderators, an action item's by the responsible organisation (世茂物业), a voucher's
# by the village committee.
_BOX = J({"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2})
_IDEA_PHOTO = lambda c: {"token": c["idea_photo_token"]}  # noqa: E731
_ACTION_PHOTO = lambda c: {"item_id": c["action_item"], "token": c["action_photo"]}  # noqa: E731
_VOUCHER = lambda c: {"disclosure_id": c["voucher_disclosure"], "token": c["voucher"]}  # noqa: E731
_IDEA_PHOTO_READ = lambda c: f"{API}/ideas/{c['idea_photo']}"  # noqa: E731
_VOUCHER_READ = lambda c: f"{API}/village-disclosures/{c['voucher_disclosure']}"  # noqa: E731
_REGION = {"region_id": "0a1b2c3d"}
TABLE.update({
    ("post", "/api/v1/contest-photos/{token}/blur/regions"): [
        Row("a photo still being blurred", _IDEA_PHOTO, _BOX, MODERATORS_BJ, _IDEA_PHOTO_READ)],
    ("delete", "/api/v1/contest-photos/{token}/blur/regions/{region_id}"): [
        Row("a photo still being blurred", lambda c: {**_IDEA_PHOTO(c), **_REGION}, None, MODERATORS_BJ,
            _IDEA_PHOTO_READ)],
    ("post", "/api/v1/action-items/{item_id}/photos/{token}/blur/regions"): [
        Row("a photo still being blurred", _ACTION_PHOTO, _BOX, frozenset({"pc_sm_he"}), V["motion"])],
    ("delete", "/api/v1/action-items/{item_id}/photos/{token}/blur/regions/{region_id}"): [
        Row("a photo still being blurred", lambda c: {**_ACTION_PHOTO(c), **_REGION}, None, frozenset({"pc_sm_he"}),
            V["motion"])],
    ("post", "/api/v1/village-disclosures/{disclosure_id}/vouchers/{token}/blur/regions"): [
        Row("a voucher still being blurred", _VOUCHER, _BOX, VILLAGE_COMMITTEE, _VOUCHER_READ)],
    ("delete", "/api/v1/village-disclosures/{disclosure_id}/vouchers/{token}/blur/regions/{region_id}"): [
        Row("a voucher still being blurred", lambda c: {**_VOUCHER(c), **_REGION}, None, VILLAGE_COMMITTEE,
            _VOUCHER_READ)],
})

# Staff accounts and their roles (civic.accounts.staff): 世茂物业's head, the street centre's head
# (世茂物业 is in its street), administrators.
PC_SM_MANAGERS = frozenset({"pc_sm_sun", "sc_wang", "admin"})
_HE = lambda c: {"user_id": c["staff_he"]}  # noqa: E731
TABLE.update({
    # civic.core.resumable: an upload is its maker's alone; finished, it takes no more bytes.
    ("patch", "/api/v1/uploads/{upload_id}"): [
        Row("张三's finished upload", lambda c: {"upload_id": c["upload"]}, J({}), frozenset({"zhang_san"}),
            lambda c: f"{API}/uploads/{c['upload']}")],
    ("delete", "/api/v1/uploads/{upload_id}"): [
        Row("张三's finished upload", lambda c: {"upload_id": c["upload"]}, None, frozenset({"zhang_san"}),
            lambda c: f"{API}/uploads/{c['upload']}", no_probe="termination has no state to refuse")],
    ("post", "/api/v1/staff"): [
        Row("a username already taken", lambda c: {},
            J(lambda c: {"username": "pc_sm_he", "display_name": "新同事", "organisation_id": c["pc_org"]}),
            PC_SM_MANAGERS, lambda c: f"{API}/organisations/{c['pc_org']}")],
    ("patch", "/api/v1/staff/{user_id}"): [
        Row("何客服, a blank name", _HE, J({"display_name": "  "}), PC_SM_MANAGERS, V["staff_he"])],
    ("post", "/api/v1/staff/{user_id}/password-reset"): [
        Row("何客服", _HE, None, PC_SM_MANAGERS, V["staff_he"], no_probe="a reset has no state to refuse")],
    ("post", "/api/v1/staff/{user_id}/disable"): [
        Row("a disabled account of 世茂物业", lambda c: {"user_id": c["staff_gone"]}, None, PC_SM_MANAGERS,
            lambda c: f"{API}/staff/{c['staff_gone']}")],
    ("post", "/api/v1/staff/{user_id}/enable"): [
        Row("何客服, enabled", _HE, None, PC_SM_MANAGERS, V["staff_he"])],
    ("post", "/api/v1/staff/{user_id}/move"): [
        Row("何客服, to the organisation he is in", _HE,
            J(lambda c: {"from_organisation_id": c["pc_org"], "to_organisation_id": c["pc_org"]}),
            PC_SM_MANAGERS, V["staff_he"])],
    ("post", "/api/v1/organisations/{organisation_id}/memberships"): [
        Row("何客服, a member already", lambda c: {"organisation_id": c["pc_org"]},
            J(lambda c: {"user_id": c["staff_he"], "role": "handler"}), PC_SM_MANAGERS,
            lambda c: f"{API}/organisations/{c['pc_org']}")],
    ("patch", "/api/v1/organisations/{organisation_id}/memberships/{user_id}"): [
        Row("何客服, a role that does not exist", lambda c: {"organisation_id": c["pc_org"], "user_id": c["staff_he"]},
            J({"role": "boss"}), PC_SM_MANAGERS, lambda c: f"{API}/organisations/{c['pc_org']}")],
    ("delete", "/api/v1/organisations/{organisation_id}/memberships/{user_id}"): [
        Row("何客服", lambda c: {"organisation_id": c["pc_org"], "user_id": c["staff_he"]}, None, PC_SM_MANAGERS,
            lambda c: f"{API}/organisations/{c['pc_org']}", no_probe="a membership has no state to refuse")],
})

# Write routes with no object to protect: the caller acts on their own account, or creates
# something at a collection with no parent (what any signed-in caller of that kind may do).
EXEMPT = {
    ("post", "/api/v1/auth/login"): "signs in: no actor yet",
    ("post", "/api/v1/auth/wechat"): "signs in: no actor yet",
    ("post", "/api/v1/auth/otp"): "signs in: no actor yet",
    ("post", "/api/v1/auth/otp/verify"): "signs in: no actor yet",
    ("post", "/api/v1/auth/logout"): "the caller's own token",
    ("post", "/api/v1/auth/password"): "the caller's own password",
    ("patch", "/api/v1/me"): "the caller's own account (PIPL Art. 46)",
    ("delete", "/api/v1/me"): "the caller's own account (PIPL Art. 47)",
    ("delete", "/api/v1/my/complaints/gps-consent"): "the caller's own consent, over their own cases",
    ("post", "/api/v1/complaints"): "a new case: any resident may file one",
    ("post", "/api/v1/contest-photos"): "a resident's own upload, claimed later by their idea",
    ("post", "/api/v1/complaints/suggest"): "reads the caller's draft text, writes nothing, touches no object",
    ("post", "/api/v1/my/unit-claims"): "a new claim: any resident may claim a unit (its existence is checked after)",
    ("post", "/api/v1/uploads"): "a new resumable upload: the caller's own, bound to their account",
}

WRITE = ("post", "put", "patch", "delete")


def _write_ops(spec: dict) -> set[tuple[str, str]]:
    return {(m, path) for path, item in spec["paths"].items() for m in WRITE if m in item}


def test_the_table_covers_every_write_route(client):
    spec = client.get(f"{API}/openapi.json").get_json()
    ops = _write_ops(spec)
    assert len(ops) >= 85
    missing = sorted(ops - set(TABLE) - set(EXEMPT))
    assert not missing, f"write routes with no row in TABLE (who may act on what): {missing}"
    assert not (set(TABLE) | set(EXEMPT)) - ops, "rows for routes that no longer exist"
    assert not set(TABLE) & set(EXEMPT)
    for op, rows in TABLE.items():
        assert rows, op
        for row in rows:
            assert row.allowed <= set(ROLES) | set(EXTRA), (op, row.name)
            assert not (row.insider and row.no_probe) or row.insider in row.allowed, (op, row.name)


# --- the wrong states -------------------------------------------------------------------------

def _build_world(factory) -> dict:
    """The visibility sweep's world, with each object also put in a state where the writes of
    :data:`TABLE` are refused on their state: a closed case, a confirmed paper ballot, an adopted
    idea with a milestone, a village inquiry answered..."""
    from civic.complaints import service as complaints
    from civic.core.notifications import notify
    from civic.open311 import service as open311
    from civic.property import service as registry
    from civic.proposals import moderation
    from civic.proposals.contests.models import Implementation, Milestone
    from civic.proposals.deliberation import service as delib
    from civic.proposals.deliberation.models import ActionItem
    from civic.village import service as village
    from civic.village.models import CatalogueItem, Inquiry
    from civic.voting import roster
    from civic.voting import service as voting
    from civic.voting.models import RosterPerson

    ctx = _visibility_world(factory)
    zhang, shi = _user("zhang_san"), _user("oc_bj_shi")
    # 张三's case: acknowledged, resolved (by its lead, the owners' committee), rated and closed.
    complaints.transition(shi, ctx["case"], "acknowledge")
    complaints.transition(shi, ctx["case"], "resolve", note="电梯已修复")
    complaints.rate(zhang, ctx["case"], 5)
    # A confirmed paper ballot in the open vote (unit 1号楼201, entered by the head, confirmed by a member).
    matters = voting.matters_of(ctx["vote_open"])
    ctx["matter_open"] = matters[0].id
    ctx["matter_draft"] = voting.matters_of(ctx["vote_draft"])[0].id
    li_person = db.session.scalar(sa.select(RosterPerson).where(RosterPerson.roster_id == ctx["roster"],
                                                                RosterPerson.phone == _user("li_si").phone))
    ctx["person_li_si"] = li_person.id
    ctx["roster_unit"] = _roster_unit_of(ctx["roster"], "C-BJHY-1-201")
    scan = PHOTOS / "ianare_portrait_6.jpg"
    from tests.voting.helpers import signer_fields

    entry = voting.enter_paper_ballot(ctx["vote_open"], {"roster_unit_id": ctx["roster_unit"],
                                                         "choices": {str(ctx["matter_open"]): "agree"},
                                                         **{k: int(v) if k == "signer_person_id" else v for k, v
                                                            in signer_fields(ctx["vote_open"], ctx["roster_unit"]).items()}},
                                      (scan.name, scan.read_bytes()), shi)
    voting.confirm_paper_ballot(entry["id"], _user_by_name("oc_bj_zhang"))
    ctx["paper_entry"] = entry["id"]
    # An Open311 key, revoked; a notification of 张三.
    admin = _user("admin")
    key, _secret = open311.issue_key(admin, "12345市民服务热线", [])
    open311.revoke_key(admin, key.id)
    ctx["partner_key"] = key.id
    notify(zhang.id, "demo", "测试通知", {}, dedupe_key="perm-sweep")
    from civic.core.notifications import Notification

    db.session.flush()
    ctx["notification"] = db.session.scalar(sa.select(Notification.id).where(Notification.user_id == zhang.id)
                                            .order_by(Notification.id.desc()).limit(1))
    # Village: a catalogue item, a line of the published disclosure, the answered inquiry.
    ctx["catalogue_item"] = db.session.scalar(sa.select(CatalogueItem.id).order_by(CatalogueItem.id).limit(1))
    ctx["line"] = village.get_disclosure(ctx["disclosure"]).lines[0].id
    ctx["inquiry"] = db.session.scalar(sa.select(Inquiry.id).limit(1))
    ctx["vc_org"] = registry.organisation_by_code("O-VC-XF").id
    ctx["vc_xf_hua_id"] = _user("vc_xf_hua").id
    ctx["rc_bj_org"] = registry.organisation_by_code("O-RC-BJ").id
    ctx["zhang_san_id"] = zhang.id
    ctx["juror_id"] = _user_by_name("rr_bj_yan").id
    # Contests: 张三's approved idea adopted by the property company, with a milestone at 50 %.
    impl = Implementation(idea_id=ctx["idea_approved"], organisation_id=ctx["pc_org"], status="adopted",
                          adopted_by_id=_user_by_name("rc_bj_chen").id)
    db.session.add(impl)
    db.session.flush()
    ms = Milestone(implementation_id=impl.id, title="选址", progress=50)
    db.session.add(ms)
    db.session.flush()
    ctx["milestone"] = ms.id
    # Deliberation: the passed motion's resolution and its closed action item; 赵六 appealed the hiding.
    ctx["resolution"] = delib.resolution_of(ctx["motion"]).id
    ctx["action_item"] = db.session.scalar(sa.select(ActionItem.id).where(
        ActionItem.resolution_id == ctx["resolution"]))
    moderation.appeal(_user("zhao_liu"), "topic", ctx["topic_hidden"], "话题属实，请恢复")
    moderation.decide_appeal(admin, "topic", ctx["topic_hidden"], "upheld", "经复核，维持隐藏")
    moderation.report(_user("li_si"), "idea", ctx["idea_approved"], "与征集主题无关")
    # Registry: a unit of 滨江花园; voting: a draft second version of the certified roster.
    ctx["bj_unit"] = registry.place_by_code("C-BJHY-1-101").id
    ctx["roster_draft"] = roster.new_version(ctx["roster"], reason="业主变更", actor=shi).id
    # Budget rounds: 李四's paper ballot, entered by one administrator and confirmed by another.
    from civic.budgets import service as budgets

    second = factory.admin()
    entry = budgets.enter_paper(admin, ctx["budget_round"], {"resident_id": _user("li_si").id,
                                                             "project_ids": [ctx["budget_project"]]})
    budgets.confirm_paper(second, entry.id)
    ctx["budget_paper"] = entry.id
    # Staff: a member of 世茂物业 who left (disabled).
    from civic.accounts import staff

    gone, _pw = staff.create_staff_account(admin, {"username": "pc_sm_gone", "display_name": "离职员工",
                                                   "organisation_id": ctx["pc_org"], "role": "handler"})
    staff.disable_account(admin, gone.id)
    ctx["staff_gone"] = gone.id
    commit()
    return ctx


def _user_by_name(username: str):
    from civic.accounts.models import User

    return db.session.scalar(sa.select(User).where(User.username == username))


def _roster_unit_of(roster_id: int, code: str) -> int:
    from civic.voting.models import RosterUnit

    return db.session.scalar(sa.select(RosterUnit.id).where(RosterUnit.roster_id == roster_id,
                                                            RosterUnit.unit_code == code))


# --- the sweep --------------------------------------------------------------------------------

def _send(client, method: str, url: str, body, ctx: dict, headers: dict):
    if body is None:
        return client.open(url, method=method.upper(), headers=headers)
    kind, data = body(ctx)
    if kind == "json":
        return client.open(url, method=method.upper(), json=data, headers=headers)
    return client.open(url, method=method.upper(), data=data, headers=headers, content_type="multipart/form-data")


def _missing(params: dict) -> dict:
    return {k: (999999 if isinstance(v, int) else v) for k, v in params.items()}


def _answer(r) -> tuple[int, str | None]:
    body = r.get_json(silent=True)
    return r.status_code, (body.get("error", {}).get("code") if isinstance(body, dict) and "error" in body else None)


def _check(client, method: str, path: str, row: Row, ctx: dict, role: str) -> str | None:
    """What is wrong with ``role``'s answer, or None.

    Hidden from the role (its read answers 404, or ``row.hidden``): the same answer as for an id
    that does not exist (a 404, or the route's own 403 for every id, e.g. ``wrong_account_kind``).
    Public to the role: 403.  Anonymous: 401.
    """
    h = ctx["headers"][role]
    params = row.params(ctx)
    got = _answer(_send(client, method, path.format(**params), row.body, ctx, h))
    db.session.rollback()
    if role == "anonymous":
        want = {401}
    elif (row.read is None and role in row.hidden) or (
            row.read is not None and client.get(row.read(ctx), headers=h).status_code == 404):
        absent = _answer(_send(client, method, path.format(**_missing(params)), row.body, ctx, h))
        db.session.rollback()
        if got != absent:
            return f"{got[0]} {got[1]}, want the answer for a missing id ({absent[0]} {absent[1]})"
        want = {403, 404}
    else:
        want = {403}
    if got[0] not in want:
        return f"{got[0]} {got[1]}, want {'/'.join(map(str, sorted(want)))}"
    return None


# Demo people who act on some objects but are not among the visibility sweep's ROLES.
EXTRA = {"rr_bj_yan": ("username", "rr_bj_yan"), "rc_bj_chen": ("username", "rc_bj_chen"),
         "pc_sm_sun": ("username", "pc_sm_sun"), "vs_xf_jin": ("username", "vs_xf_jin"),
         "oc_bj_zhang": ("username", "oc_bj_zhang"), "sun_qi": ("openid", "dev-sun_qi"),
         "wang_wu": ("openid", "dev-wang_wu")}


def _extra_headers(factory) -> dict:
    from civic.accounts.models import User

    out = {}
    for key, (field, value) in EXTRA.items():
        col = User.username if field == "username" else User.wechat_openid
        out[key] = factory.token(db.session.scalar(sa.select(User).where(col == value)))
    return out


def test_an_outsider_gets_403_or_404_before_any_state_check(app, client, factory):
    """The sweep, then the proof that each row's object is in a wrong state: one role with the
    right to act gets 409 or 422 (the state or input check that outsiders must never reach)."""
    from civic.extensions import limiter

    ctx = _build_world(factory)
    ctx["headers"].update(_extra_headers(factory))
    commit()
    wrong = []
    for (method, path), rows in TABLE.items():
        for row in rows:
            for role in sorted(set(ROLES) - row.allowed):
                limiter.reset()
                problem = _check(client, method, path, row, ctx, role)
                if problem:
                    wrong.append(f"{method.upper()} {path} [{row.name}] as {role}: {problem}")
    assert not wrong, f"{len(wrong)} wrong answers:\n" + "\n".join(wrong)

    not_wrong_state = []
    for (method, path), rows in TABLE.items():
        for row in rows:
            insiders = [row.insider] if row.insider else sorted(row.allowed & set(ctx["headers"]))
            if not insiders or row.no_probe:
                continue  # nobody may act on it at all (a draft vote's ballot), or no state to refuse
            limiter.reset()
            got = _answer(_send(client, method, path.format(**row.params(ctx)), row.body, ctx,
                                ctx["headers"][insiders[0]]))
            db.session.rollback()
            if got[0] not in (409, 422):
                not_wrong_state.append(f"{method.upper()} {path} [{row.name}] as {insiders[0]}: {got[0]} {got[1]}")
    assert not not_wrong_state, "rows whose object is not in a refused state:\n" + "\n".join(not_wrong_state)

