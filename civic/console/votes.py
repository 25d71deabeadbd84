"""业主大会表决 in the console: the owners' committee builds or imports the owners' roster, certifies it,
sets up a vote and moves it through its phases, enters returned paper ballots unit by unit with
their scans, and a second member confirms each one against its scan; turnout and results as the
service computes them (exact fractions, never a float here).  The street centre reads rosters,
votes, turnout and results.

Every rule is civic.voting's (roster.py, the service/ package, access.py); forms are loaded through the API's
own schemas (civic.voting.schemas), so a limit such as the notice period's 1-90 days lives in one place.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import marshmallow as ma
from flask import render_template, request

from civic.console.blueprint import bp, chosen_place, see_other, staff_page
from civic.core import media
from civic.core.errors import Conflict, Forbidden, ValidationFailed
from civic.core.uploads import csv_upload, uploaded_files
from civic.extensions import db
from civic.property import service as registry
from civic.voting import roster, schemas, service
from civic.voting.access import acting_org

KINDS = ("owners_committee", "street_centre")
ROSTER_STATUS_NAMES = {"draft": "草稿", "certified": "已确认公布"}
SOURCE_NAMES = {"registry": "从房屋登记信息生成", "csv": "导入 CSV"}
AREA_SOURCE_NAMES = {"registry": "不动产登记", "survey": "测绘", "contract": "合同"}
DEVELOPER_NAMES = {"unsold": "开发商未售", "sold_undelivered": "已售未交付"}
ENTRY_STATE_NAMES = {"pending": "待确认", "confirmed": "已复核计入", "withdrawn": "已撤回"}
SIGNER_NAMES = {"owner": "业主本人", "proxy": "委托代理人", "developer": "开发建设单位"}
SIGNER_ROLE_NAMES = {"owner": "业主", "developer": "开发建设单位", "buyer": "买受人（已购未交付，尚不是业主）"}
FIELD_LABELS = {"title": "标题", "notice_days": "公告期（天）", "counting_mode": "计票方式", "number": "表决事项类别",
                "roster_id": "业主名册", "reason": "理由", "published_on": "公布日期", "place_id": "范围"}


@bp.app_template_filter("m2")
def _m2(value) -> str:
    """An area in m² (Decimal, or the service's decimal string) with thousands separators, exactly."""
    if value is None or value == "":
        return ""
    try:
        return f"{Decimal(str(value)):,.2f}"
    except InvalidOperation:
        return str(value)


def _load(schema: type[ma.Schema], data: dict) -> dict:
    """The form through the API's schema for the same operation; errors named in Chinese."""
    try:
        return schema().load(data)
    except ma.ValidationError as exc:
        names = [f"{FIELD_LABELS.get(k, k)}（{_first(v)}）" for k, v in exc.messages.items()]
        raise ValidationFailed("以下各项填写有误：" + "；".join(names), code="form_invalid",
                               details={"fields": sorted(exc.messages)}) from exc


def _first(messages) -> str:
    # marshmallow's message for a field: a list of text (Chinese, civic.core.messages), or a nested dict.
    while isinstance(messages, dict):
        messages = next(iter(messages.values()), "")
    return messages[0] if isinstance(messages, list) and messages else str(messages)


def _passes(check) -> bool:
    try:
        check()
        return True
    except Forbidden:
        return False


def _roles(user, place_id: int) -> dict[str, bool]:
    """What the page offers: committee work (any member) and phase changes (the head).  The service
    checks again on every POST."""
    return {"committee": _passes(lambda: acting_org(user, place_id)),
            "head": _passes(lambda: acting_org(user, place_id, roles=("head",)))}


def _form(*keys: str) -> dict:
    return {k: request.form[k] for k in keys if request.form.get(k, "").strip() != ""}


# --- the compound: rosters and votes ---------------------------------------------------------------

@bp.get("/votes")
@staff_page(*KINDS)
def votes_home(user):
    """本小区的业主名册（各版本）与业主大会表决。"""
    compounds = service.compounds_for(user)
    compound = chosen_place(compounds, "compound", what="小区")
    rosters, roster_cursor = service.list_rosters(user, compound_id=compound.id,
                                                  cursor=request.args.get("rosters") or None, limit=20)
    votes, vote_cursor = service.list_votes(user, compound_id=compound.id, status=None,
                                            cursor=request.args.get("votes") or None, limit=20)
    roles = _roles(user, compound.id)
    return render_template(
        "console/votes_home.html", compounds=compounds, compound=compound, roles=roles,
        rosters=[roster.roster_summary(r) for r in rosters], roster_cursor=roster_cursor,
        votes=votes, vote_cursor=vote_cursor, states=service.STATE_NAMES, statuses=ROSTER_STATUS_NAMES,
        buildings=registry.places_of_kind("building", [compound.path]) if roles["committee"] else [],
        certified=[r for r in rosters if r.status == "certified"], modes=service.COUNTING_MODE_NAMES)


@bp.post("/votes/rosters")
@staff_page("owners_committee")
def votes_roster_create(user):
    """建立业主名册：从房屋登记信息生成，或建立空名册后导入 CSV。"""
    data = _load(schemas.RosterCreateSchema, _form("place_id", "name", "source"))
    r = roster.create_roster(place_id=data["place_id"], name=data["name"], source=data["source"], actor=user)
    return see_other("console.votes_roster", roster_id=r.id)


def _roster_page(user, roster_id: int, *, problem: dict | None = None, status: int = 200):
    r = roster.roster_for_reader(roster_id, user)
    roles = _roles(user, r.scope_place_id)
    units, cursor = ([], None)
    if roles["committee"]:
        units, cursor = roster.list_units(r.id, user, cursor=request.args.get("cursor") or None, limit=50)
    return render_template(
        "console/votes_roster.html", r=r, summary=roster.roster_summary(r), heads=service.roster_head_count(r.id),
        roles=roles, units=units, next_cursor=cursor, problem=problem, statuses=ROSTER_STATUS_NAMES,
        sources=SOURCE_NAMES, area_sources=AREA_SOURCE_NAMES, developer=DEVELOPER_NAMES,
        compound=registry.get_place(r.compound_id), scope=registry.get_place(r.scope_place_id),
        columns=roster.CSV_COLUMNS, imported=request.args.get("imported")), status


@bp.get("/votes/rosters/<int:roster_id>")
@staff_page(*KINDS)
def votes_roster(user, roster_id):
    """业主名册：户数、专有部分总面积、业主人数；房屋与业主（手机号脱敏）；导入、确认公布、变更。"""
    return _roster_page(user, roster_id)


@bp.post("/votes/rosters/<int:roster_id>/import")
@staff_page("owners_committee")
def votes_roster_import(user, roster_id):
    """导入名册 CSV：全部成功或一行也不写入；有误时逐行列出（行号、列、原因）。"""
    try:
        done = roster.import_csv(roster_id, csv_upload(), user)
    except ValidationFailed as exc:
        if exc.code != "import_invalid":
            raise
        # 422: the request's transaction is rolled back, so nothing of the file is kept.
        return _roster_page(user, roster_id, status=exc.status, problem={
            "kind": "import", "message": exc.message, "rows": exc.details["errors"]})
    return see_other("console.votes_roster", roster_id=roster_id, imported=done["units"])


@bp.post("/votes/rosters/<int:roster_id>/certify")
@staff_page("owners_committee")
def votes_roster_certify(user, roster_id):
    """确认并公布业主名册（业委会主任；《上海市住宅物业管理规定》第十六条）。"""
    data = _load(schemas.CertifySchema, _form("published_on"))
    try:
        roster.certify(roster_id, published_on=data["published_on"], actor=user)
    except ValidationFailed as exc:
        if exc.code != "roster_invalid":
            raise
        return _roster_page(user, roster_id, status=exc.status, problem={
            "kind": "certify", "message": exc.message, "rows": exc.details["units"]})
    return see_other("console.votes_roster", roster_id=roster_id)


@bp.post("/votes/rosters/<int:roster_id>/versions")
@staff_page("owners_committee")
def votes_roster_version(user, roster_id):
    """名册变更：建立新版本草稿并说明理由（已公布的版本不变）。"""
    data = _load(schemas.NewVersionSchema, {"reason": request.form.get("reason", "")})
    new = roster.new_version(roster_id, reason=data["reason"], actor=user)
    return see_other("console.votes_roster", roster_id=new.id)


# --- a vote: set-up and phases ---------------------------------------------------------------------

@bp.post("/votes")
@staff_page("owners_committee")
def votes_create(user):
    """发起表决（草稿）：在已确认公布的业主名册上。"""
    form = _form("roster_id", "title", "description", "notice_days", "counting_mode")
    if request.form.get("rules_allow_deemed") == "1":
        form["rules_allow_deemed"] = True
    vote = service.create_vote(_load(schemas.VoteCreateSchema, form), user)
    return see_other("console.votes_detail", vote_id=vote.id)


@bp.get("/votes/<int:vote_id>")
@staff_page(*KINDS)
def votes_detail(user, vote_id):
    """表决：事项、阶段与可做的操作、纸质选票的录入与复核、投票情况与结果。"""
    vote = service.vote_for_reader(vote_id, user)
    roles = _roles(user, vote.scope_place_id)
    totals = service.turnout_totals(vote.id, user) if vote.state not in ("draft", "announced") else None
    r = roster.get_roster(vote.roster_id)
    # One head's confirmed paper entries that disagree stop the tally: name them, with the unit
    # pages where the committee head withdraws the wrong one (the committee only: it is who voted).
    conflicts = (service.conflicting_paper_heads(vote.id)
                 if roles["committee"] and vote.state in ("open", "closed") else [])
    return render_template(
        "console/votes_vote.html", vote=vote, matters=service.matters_of(vote.id), roles=roles, totals=totals,
        conflicts=conflicts,
        transitions=service.available_transitions(vote.id, user), states=service.STATE_NAMES,
        items={i["number"]: i for i in service.matter_items()}, roster=r, roster_summary=roster.roster_summary(r),
        modes=service.COUNTING_MODE_NAMES, compound=registry.get_place(vote.compound_id))


@bp.post("/votes/<int:vote_id>/matters")
@staff_page("owners_committee")
def votes_matter_add(user, vote_id):
    """添加表决事项（《民法典》第二百七十八条第一款第几项、标题、说明）。"""
    service.add_matter(vote_id, _load(schemas.MatterCreateSchema, _form("number", "title", "text")), user)
    return see_other("console.votes_detail", vote_id=vote_id, _anchor="matters")


@bp.post("/votes/<int:vote_id>/transitions/<action>")
@staff_page("owners_committee")
def votes_transition(user, vote_id, action):
    """公告、开始投票（冻结名册）、结束投票、公布结果（业委会主任）。"""
    service.transition(vote_id, action, user, note=request.form.get("note") or None)
    return see_other("console.votes_detail", vote_id=vote_id)


# --- paper ballots: entry unit by unit, and the second member's confirmation -------------------------

@bp.get("/votes/<int:vote_id>/paper")
@staff_page("owners_committee")
def votes_paper(user, vote_id):
    """录入纸质选票：按楼、房号查找房屋。"""
    vote = service.get_vote(vote_id)
    found = service.paper_unit_search(vote.id, user, building=request.args.get("building"),
                                      q=request.args.get("q"))
    return render_template("console/votes_paper_search.html", vote=vote, found=found,
                           building=request.args.get("building", ""), q=request.args.get("q", ""),
                           entry_states=ENTRY_STATE_NAMES, channels=service.CHANNEL_NAMES)


def _unit_page(user, vote_id: int, roster_unit_id: int, *, entered: dict | None = None, problem: dict | None = None,
               chosen: dict | None = None, status: int = 200):
    """The unit page.  ``problem``: a refused entry or withdrawal shown on the page, next to its form
    (``{"kind": "enter" | "withdraw", "message", "code", "entry_id"?, "other"?}``); ``chosen``: the
    choices of a refused entry ``{"<matter id>": choice}``, kept in the form (the scan must be chosen again)."""
    u = service.paper_unit(vote_id, roster_unit_id, user)
    return render_template("console/votes_paper_unit.html", u=u, vote=u["vote"], matters=service.matters_of(vote_id),
                           choices=service.CHOICE_NAMES, entry_states=ENTRY_STATE_NAMES,
                           channels=service.CHANNEL_NAMES, area_sources=AREA_SOURCE_NAMES, entered=entered,
                           signer_names=SIGNER_NAMES, signer_roles=SIGNER_ROLE_NAMES,
                           problem=problem, chosen=chosen or {}, done=request.args.get("done"),
                           done_entry=next((e for e in u["entries"] if str(e["id"]) == request.args.get("entry")),
                                           None)), status


@bp.get("/votes/<int:vote_id>/paper/<int:roster_unit_id>")
@staff_page("owners_committee")
def votes_paper_unit(user, vote_id, roster_unit_id):
    """一户的纸质选票：该户所属业主（人数计算单位）、已录入的选票（业委会主任可撤回已计入的）、录入表单。"""
    return _unit_page(user, vote_id, roster_unit_id)


@bp.post("/votes/<int:vote_id>/paper/<int:roster_unit_id>")
@staff_page("owners_committee")
def votes_paper_enter(user, vote_id, roster_unit_id):
    """录入该户纸质选票及扫描件：待另一名委员复核后计入。

    The answer is the unit page itself, not a redirect: the owner's receipt code is shown once and
    must not travel in a URL or in the (signed, not encrypted) session cookie.
    """
    matters = service.matters_of(vote_id)
    choices = {str(m.id): request.form[f"matter-{m.id}"] for m in matters if request.form.get(f"matter-{m.id}")}
    signer = {"signer_kind": request.form.get("signer_kind") or None,
              "signer_person_id": int(request.form["signer_person_id"])
              if request.form.get("signer_person_id", "").isdigit() else None}
    try:
        scans = uploaded_files("scan", "scan")
        if len(scans) != 1:
            raise ValidationFailed("请上传一张选票扫描件（照片）", code="scan_required", details={"count": len(scans)})
        entered = service.enter_paper_ballot(vote_id, {"roster_unit_id": roster_unit_id, "choices": choices,
                                                       **signer}, scans[0], user)
    except (Conflict, ValidationFailed) as exc:
        # Refused (signed by someone with no right to vote for the unit, already entered, a bad scan...):
        # the unit page again with the message by the form and the choices kept, not a bare error
        # page.  Nothing of the refused entry is kept (the response's status rolls it back; rolled
        # back here already so the page shows what is stored).
        db.session.rollback()
        details = exc.details or {}
        other = None
        if exc.code == "paper_ballot_conflicts_head" and details.get("other_roster_unit_id"):
            other = {"roster_unit_id": details["other_roster_unit_id"], "unit_name": details.get("other_unit_name"),
                     "entry_id": details.get("other_entry_id"), "state": details.get("other_state")}
        return _unit_page(user, vote_id, roster_unit_id, chosen={**choices, **signer}, status=exc.status,
                          problem={"kind": "enter", "message": exc.message, "code": exc.code, "other": other})
    return _unit_page(user, vote_id, roster_unit_id, entered=entered, status=201)


@bp.get("/votes/<int:vote_id>/confirm")
@staff_page("owners_committee")
def votes_confirm(user, vote_id):
    """复核纸质选票：逐张对照扫描件核对录入的选项（查看记入审计日志）。"""
    vote = service.get_vote(vote_id)
    entries = service.pending_paper_entries(vote.id, user)
    return render_template("console/votes_confirm.html", vote=vote, entries=entries, choices=service.CHOICE_NAMES,
                           done=request.args.get("done"))


@bp.post("/votes/paper-entries/<int:entry_id>/confirm")
@staff_page("owners_committee")
def votes_entry_confirm(user, entry_id):
    """复核无误，计入（须为录入人以外的委员）。"""
    out = service.confirm_paper_ballot(entry_id, user)
    return see_other("console.votes_confirm", vote_id=out["vote_id"], done="confirmed")


@bp.post("/votes/paper-entries/<int:entry_id>/withdraw")
@staff_page("owners_committee")
def votes_entry_withdraw(user, entry_id):
    """撤回录入有误的纸质选票，须说明理由：未复核的由录入人或业委会主任撤回（复核页）；已复核计入的
    只能由业委会主任在结果公布前撤回（该户的纸质选票页）。

    ``back`` (a roster unit id) says the form was on that unit's page: the answer goes back there
    (``?done=withdrawn``), and a missing reason is shown by the form there (422); without it, to the
    confirmation page.  Who may withdraw what is the service's: others get its 403/409 as the error page.
    """
    back = request.form.get("back", "")
    back = int(back) if back.isdigit() else None
    try:
        data = _load(schemas.WithdrawSchema, {"reason": request.form.get("reason", "")})
        out = service.withdraw_paper_ballot(entry_id, data, user)
    except ValidationFailed as exc:
        vote_id = service.paper_entry_vote_id(entry_id) if back is not None else None
        if vote_id is None:
            raise
        return _unit_page(user, vote_id, back, status=exc.status, problem={
            "kind": "withdraw", "entry_id": entry_id, "code": exc.code,
            "message": "请填写撤回理由（记入记录）" if not request.form.get("reason", "").strip() else exc.message})
    if back is not None:
        return see_other("console.votes_paper_unit", vote_id=out["vote_id"], roster_unit_id=back, done="withdrawn",
                         entry=entry_id, _anchor="entries")
    return see_other("console.votes_confirm", vote_id=out["vote_id"], done="withdrawn")


@bp.get("/votes/paper-entries/<int:entry_id>/scan")
@staff_page("owners_committee")
def votes_entry_scan(user, entry_id):
    """纸质选票扫描件（?size=thumb 取缩略图）。"""
    size = request.args.get("size")
    return media.respond(service.paper_scan_of_entry(user, entry_id, size), size)


# --- turnout and results ---------------------------------------------------------------------------

TURNOUT_PAGE = 100


@bp.get("/votes/<int:vote_id>/turnout")
@staff_page(*KINDS)
def votes_turnout(user, vote_id):
    """投票情况：已投票与计入的户数、面积、人数；各业主是否已投票（不显示如何投票）。"""
    vote = service.vote_for_reader(vote_id, user)
    totals = service.turnout_totals(vote.id, user)
    show = request.args.get("show") if request.args.get("show") in ("voted", "not_voted") else "all"
    page = request.args.get("page", "1")
    page = max(1, int(page)) if page.isdigit() else 1
    found = service.turnout(vote.id, user, show=show, offset=(page - 1) * TURNOUT_PAGE, limit=TURNOUT_PAGE)
    pages = max(1, -(-found["count"] // TURNOUT_PAGE))
    if page > pages:  # past the end (the list shrank): the last page
        page = pages
        found = service.turnout(vote.id, user, show=show, offset=(page - 1) * TURNOUT_PAGE, limit=TURNOUT_PAGE)
    return render_template("console/votes_turnout.html", vote=vote, totals=totals, show=show, page=page,
                           pages=pages, count=found["count"], items=found["items"],
                           channels=service.CHANNEL_NAMES, states=service.STATE_NAMES)


@bp.get("/votes/<int:vote_id>/results")
@staff_page(*KINDS)
def votes_results(user, vote_id):
    """表决结果：每项的参与与同意（面积、人数），精确分数与百分比，是否通过；分楼统计。"""
    vote = service.vote_for_reader(vote_id, user)
    res = service.results(vote.id, user)
    matters = {m.id: m for m in service.matters_of(vote.id)}
    return render_template("console/votes_results.html", vote=vote, res=res, matters=matters,
                           states=service.STATE_NAMES, modes=service.COUNTING_MODE_NAMES)
