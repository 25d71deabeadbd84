"""The owners' roster (业主名册): built from the registry or imported from CSV, certified and
published with a date (上海市住宅物业管理规定 Art. 16); a change after that is a new version with its
reason.  A roster may cover a compound or part of one (a building, a stairway: Art. 69).

The roster is a legal snapshot: each row keeps its own copy of the unit's area and area source
(SPC 法释〔2009〕7号 Art. 8) and of its owners.  Units the developer still holds (unsold, or sold
and not yet delivered) are owned on the roster by the developer; the buyer of a sold-but-undelivered
unit is listed as ``buyer``, not as an owner (SPC Art. 9; RULES.md §1).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict

import sqlalchemy as sa

from civic.accounts import service as accounts
from civic.core import audit
from civic.core.db import SHANGHAI, is_postgres, utcnow
from civic.core.errors import Conflict, NotFound, ValidationFailed
from civic.core.text import require_text
from civic.extensions import db
from civic.property import service as registry
from civic.voting.access import RECORD_READERS, acting_org, actor_role
from civic.voting.models import Roster, RosterOwner, RosterPerson, RosterUnit

CSV_COLUMNS = ("unit_code", "building", "area_m2", "area_source", "developer_status", "owners",
               "representative_phone", "buyer")
CSV_REQUIRED = ("unit_code", "area_m2", "area_source", "owners")
DEVELOPER_NAME = "开发建设单位"
MAX_ROWS = 50_000


def get_roster(roster_id: int) -> Roster:
    roster = db.session.get(Roster, roster_id)
    if roster is None:
        raise NotFound("找不到该业主名册", code="roster_not_found", details={"roster_id": roster_id})
    return roster


def roster_for_reader(roster_id: int, actor) -> Roster:
    """The roster, for the owners' committee and the street centre covering its compound (and
    administrators).  :raises NotFound: ``roster_not_found``; :raises Forbidden: ``not_owners_committee``."""
    roster = get_roster(roster_id)
    acting_org(actor, roster.scope_place_id, org_kinds=RECORD_READERS)
    return roster


def _draft(roster: Roster) -> None:
    if roster.status != "draft":
        raise Conflict("业主名册已确认公布，不能修改；如需变更请建立新版本并说明理由",
                       code="roster_certified", details={"roster_id": roster.id})


def hold_state(column, row_id: int, allowed: tuple[str, ...]) -> tuple[bool, str | None]:
    """Check in the database that the row ``row_id`` of ``column``'s table (a state column, e.g.
    ``Vote.state``, ``Roster.status``) is in one of ``allowed``, and hold it there until this
    transaction ends, so that a state change cannot slip between the check and what the caller
    then writes (a ballot after closing, a row imported into a roster being certified).

    PostgreSQL: ``SELECT ... FOR SHARE`` (holders do not wait for each other; the state change's
    UPDATE waits for them, and they for it).  SQLite: a no-op conditional UPDATE, which takes the
    database's one write lock (pysqlite runs a plain SELECT outside the write transaction, so a read
    would hold nothing).  :returns: ``(ok, the state now)``."""
    table = column.table
    if is_postgres():
        now = db.session.scalar(sa.select(column).where(table.c.id == row_id).with_for_update(read=True))
        return now in allowed, now
    values = {column.key: column}
    if "updated_at" in table.c:  # a no-op must not move the row's updated_at
        values["updated_at"] = table.c.updated_at
    done = db.session.execute(sa.update(table).where(table.c.id == row_id, column.in_(allowed)).values(values))
    if done.rowcount == 1:
        return True, None
    return False, db.session.scalar(sa.select(column).where(table.c.id == row_id))


def _hold_draft(roster: Roster) -> None:
    """:func:`_draft`, checked again in the database and held (:func:`hold_state`): an import or
    a certification running at the same moment cannot both pass."""
    _draft(roster)
    if not hold_state(Roster.__table__.c.status, roster.id, ("draft",))[0]:
        raise Conflict("业主名册已确认公布，不能修改；如需变更请建立新版本并说明理由",
                       code="roster_certified", details={"roster_id": roster.id})


def create_roster(*, place_id: int, name: str | None, source: str, actor) -> Roster:
    """Start a roster for a compound or part of one (上海市住宅物业管理规定 Art. 69).

    :param place_id: a compound, or a building under one.
    :param source: ``"registry"`` copies the registry's units under the place (area, area source,
        developer status) and their owners and co-owners (tenants are never owners); a unit with no
        registered owner gets a placeholder owner without phone (it still counts in the totals).
        ``"csv"`` starts empty, to be filled by :func:`import_csv`.
    :raises ValidationFailed: ``roster_place_invalid``; :raises Forbidden: ``not_owners_committee``.

    Order: permission (the owners' committee covering the place), then the place's kind.
    """
    place = registry.get_place(place_id)
    org = acting_org(actor, place.id)
    if place.kind not in ("compound", "building"):
        raise ValidationFailed("业主名册须针对小区或小区内的楼（部分业主共有部分）",
                               code="roster_place_invalid", details={"kind": place.kind})
    compound = place if place.kind == "compound" else registry.ancestor_of_kind(place, "compound")
    if compound is None:
        raise ValidationFailed("该楼不属于任何小区", code="roster_place_invalid", details={"place_id": place_id})
    roster = Roster(compound_id=compound.id, scope_place_id=place.id, source=source,
                    name=(require_text(name, "name", 200) if name else f"{place.name}业主名册"),
                    created_by_id=actor.id)
    db.session.add(roster)
    db.session.flush()
    summary = _copy_registry(roster, place) if source == "registry" else {"units": 0}
    audit.record("roster.create", "roster", roster.id, actor=actor, actor_role=actor_role(actor, org),
                 data={"place_id": place.id, "source": source, **summary})
    return roster


def _copy_registry(roster: Roster, place) -> dict:
    rows = registry.units_under(place)
    links = registry.residents_of_units([u.id for u, _ in rows])
    users = accounts.users_by_ids({link.user_id for ls in links.values() for link in ls})
    persons: dict[int, RosterPerson] = {}  # user id -> person
    developer = None
    units, owners = [], []
    unregistered = 0

    def person_for(user_id: int) -> RosterPerson:
        if user_id not in persons:
            u = users[user_id]
            persons[user_id] = RosterPerson(roster_id=roster.id, name=u.display_name, phone=u.phone)
        return persons[user_id]

    for unit, building in rows:
        ru = RosterUnit(roster_id=roster.id, place_id=unit.id, unit_code=unit.code, building=building.name,
                        area=unit.area, area_source=unit.area_source, developer_status=unit.developer_status)
        units.append(ru)
        owner_links = [link for link in links.get(unit.id, []) if link.relation in ("owner", "co_owner")]
        if unit.developer_status:
            if developer is None:
                developer = RosterPerson(roster_id=roster.id, kind="developer", name=DEVELOPER_NAME)
            owners.append((ru, developer, "owner", True))
            if unit.developer_status == "sold_undelivered":
                owners.extend((ru, person_for(link.user_id), "buyer", False) for link in owner_links)
        elif owner_links:
            single = len(owner_links) == 1
            owners.extend((ru, person_for(link.user_id), "owner", single or link.representative)
                          for link in owner_links)
        else:
            unregistered += 1
            owners.append((ru, RosterPerson(roster_id=roster.id, name=f"未登记业主（{unit.code}）"), "owner", True))
    db.session.add_all(units)
    db.session.add_all({id(p): p for _, p, _, _ in owners}.values())
    db.session.flush()
    db.session.add_all([RosterOwner(roster_unit_id=ru.id, person_id=p.id, role=role, representative=rep)
                        for ru, p, role, rep in owners])
    db.session.flush()
    return {"units": len(units), "unregistered_owner_units": unregistered}


def _parse_person(text: str) -> tuple[str, str | None]:
    name, _, phone = text.partition("|")
    name = name.strip()
    if not name:
        raise ValueError("姓名不能为空（格式：姓名|手机号）")
    phone = phone.strip() or None
    if phone:
        try:
            phone = accounts.normalise_phone(phone)
        except ValidationFailed as exc:
            raise ValueError(f"手机号 {phone} 格式不正确") from exc
    return name, phone


def import_csv(roster_id: int, text: str, actor) -> dict:
    """Import roster rows from CSV into a draft roster, all or nothing.

    Columns: ``unit_code, building, area_m2, area_source, developer_status, owners,
    representative_phone, buyer``.  ``owners`` is ``姓名|手机号;姓名|手机号`` (phone optional); with
    several owners, ``representative_phone`` names the co-owner who represents the unit.  A unit
    with ``developer_status`` (unsold, sold_undelivered) is owned by the developer; ``buyer``
    (``姓名|手机号``) names the buyer of a sold-but-undelivered unit, who is not an owner.

    :returns: ``{"units": n, "persons": n}``.
    :raises ValidationFailed: ``import_invalid`` with ``details.errors`` = every bad row as
        ``{"line", "column", "reason"}``; nothing is written.
    :raises Conflict: ``roster_certified``.  :raises Forbidden: ``not_owners_committee``.

    Order: permission, then the roster's state, then the file (an outsider learns neither).
    """
    roster = get_roster(roster_id)
    org = acting_org(actor, roster.scope_place_id)
    _draft(roster)
    errors: list[dict] = []

    def err(line, column, reason):
        errors.append({"line": line, "column": column, "reason": reason})

    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    for c in CSV_REQUIRED:
        if c not in header:
            err(1, c, "缺少该列")
    for c in header:
        if c not in CSV_COLUMNS:
            err(1, c, "未知的列")
    if errors:
        raise ValidationFailed("名册 CSV 有误，未导入任何一行", code="import_invalid", details={"errors": errors})

    existing_codes = set(db.session.scalars(sa.select(RosterUnit.unit_code).where(RosterUnit.roster_id == roster.id)))
    people: dict[str, RosterPerson] = {
        p.phone: p for p in db.session.scalars(
            sa.select(RosterPerson).where(RosterPerson.roster_id == roster.id, RosterPerson.phone.is_not(None)))
    }
    names: dict[str, str] = {ph: p.name for ph, p in people.items()}
    developer = db.session.scalar(
        sa.select(RosterPerson).where(RosterPerson.roster_id == roster.id, RosterPerson.kind == "developer"))
    parsed = []
    for row in reader:
        line = reader.line_num
        if None in row:
            err(line, None, "该行的列数多于表头")
            continue
        if len(parsed) >= MAX_ROWS:
            err(line, None, f"行数超过上限 {MAX_ROWS}")
            break
        row = {k: (v or "").strip() for k, v in row.items()}
        ok = True
        code = row.get("unit_code", "")
        if not code:
            err(line, "unit_code", "房屋编号不能为空")
            ok = False
        elif code in existing_codes:
            err(line, "unit_code", f"房屋 {code} 重复")
            ok = False
        try:
            area = registry.parse_area(row.get("area_m2", ""), "area_m2")
        except ValidationFailed as exc:
            err(line, "area_m2", exc.message)
            ok = False
        if row.get("area_source") not in ("registry", "survey", "contract"):
            err(line, "area_source", "面积来源须为 registry（不动产登记）、survey（测绘）或 contract（合同）")
            ok = False
        dev = row.get("developer_status") or None
        if dev not in (None, "unsold", "sold_undelivered"):
            err(line, "developer_status", "须为空、unsold 或 sold_undelivered")
            ok = False
        owners: list[tuple[str, str | None]] = []
        for part in filter(None, (p.strip() for p in row.get("owners", "").split(";"))):
            try:
                owners.append(_parse_person(part))
            except ValueError as exc:
                err(line, "owners", str(exc))
                ok = False
        if not owners and not dev:
            err(line, "owners", "须至少填写一名业主（开发商持有的房屋除外）")
            ok = False
        phones = [ph for _, ph in owners if ph]
        if len(phones) != len(set(phones)):
            err(line, "owners", "同一房屋的业主手机号重复")
            ok = False
        for name, ph in owners:
            if ph and names.setdefault(ph, name) != name:
                err(line, "owners", f"手机号 {ph} 已对应另一姓名“{names[ph]}”")
                ok = False
        rep = row.get("representative_phone") or None
        if rep:
            try:
                rep = accounts.normalise_phone(rep)
            except ValidationFailed:
                err(line, "representative_phone", "手机号格式不正确")
                ok = False
        if len(owners) > 1 and not dev:
            if not rep:
                err(line, "representative_phone", "共有房屋须指定代表业主")
                ok = False
            elif rep not in phones:
                err(line, "representative_phone", "代表业主须是本房屋的业主之一")
                ok = False
        buyer = None
        if row.get("buyer"):
            if dev != "sold_undelivered":
                err(line, "buyer", "只有已售未交付的房屋填写买受人")
                ok = False
            try:
                buyer = _parse_person(row["buyer"])
            except ValueError as exc:
                err(line, "buyer", str(exc))
                ok = False
        if ok:
            existing_codes.add(code)
            parsed.append((code, row.get("building", ""), area, row["area_source"], dev, owners, rep, buyer))
    if errors:
        raise ValidationFailed("名册 CSV 有误，未导入任何一行", code="import_invalid", details={"errors": errors})
    # Checked again and held only now, after parsing: a certification racing this import either
    # comes first (and the import is refused) or waits for it (and checks the imported rows).
    _hold_draft(roster)

    def person(name, phone) -> RosterPerson:
        if phone is None:
            p = RosterPerson(roster_id=roster.id, name=name)
            db.session.add(p)
            return p
        if phone not in people:
            people[phone] = RosterPerson(roster_id=roster.id, name=name, phone=phone)
            db.session.add(people[phone])
        return people[phone]

    ties = []
    for code, building, area, source, dev, owners, rep, buyer in parsed:
        ru = RosterUnit(roster_id=roster.id, unit_code=code, building=building, area=area, area_source=source,
                        developer_status=dev)
        db.session.add(ru)
        if dev:
            if developer is None:
                developer = RosterPerson(roster_id=roster.id, kind="developer", name=DEVELOPER_NAME)
                db.session.add(developer)
            ties.append((ru, developer, "owner", True))
            if buyer:
                ties.append((ru, person(*buyer), "buyer", False))
        else:
            for name, ph in owners:
                ties.append((ru, person(name, ph), "owner", len(owners) == 1 or ph == rep))
    db.session.flush()
    db.session.add_all([RosterOwner(roster_unit_id=ru.id, person_id=p.id, role=role, representative=r)
                        for ru, p, role, r in ties])
    db.session.flush()
    roster.source = "csv" if roster.source != "registry" else roster.source
    audit.record("roster.import", "roster", roster.id, actor=actor, actor_role=actor_role(actor, org),
                 data={"units": len(parsed)})
    return {"units": len(parsed), "persons": len(people)}


def certify(roster_id: int, *, published_on: dt.date | None, actor) -> Roster:
    """Certify and publish the roster (上海市住宅物业管理规定 Art. 16): from then on it never changes.

    Checks: at least one unit; every unit has an owner; a co-owned unit has exactly one
    representative.  ``published_on`` defaults to today in Asia/Shanghai.
    :raises Conflict: ``roster_certified``; :raises ValidationFailed: ``roster_empty``,
        ``roster_invalid`` (``details.units``: ``[{"unit_code", "reason"}]``); :raises Forbidden:
        ``not_owners_committee`` (head role needed).

    Order: permission, then state (the roster's existence is public, its state is not: an outsider
    gets 403 whatever the state, issue #15).
    """
    roster = get_roster(roster_id)
    org = acting_org(actor, roster.scope_place_id, roles=("head",))
    _draft(roster)
    # draft → certified as one conditional UPDATE, before the rows are checked: of two
    # certifications at once one wins (the other: 409), and an import running now either committed
    # before (its rows are checked here) or is refused (roster_certified).  A failed check below
    # rolls the request back, status included.
    won = db.session.execute(sa.update(Roster).where(Roster.id == roster.id, Roster.status == "draft")
                             .values(status="certified").execution_options(synchronize_session=False))
    if won.rowcount != 1:
        raise Conflict("业主名册已确认公布，不能修改；如需变更请建立新版本并说明理由",
                       code="roster_certified", details={"roster_id": roster.id})
    rows = db.session.execute(
        sa.select(RosterUnit.unit_code, RosterOwner.role, RosterOwner.representative)
        .outerjoin(RosterOwner, RosterOwner.roster_unit_id == RosterUnit.id)
        .where(RosterUnit.roster_id == roster.id)
    ).all()
    if not rows:
        raise ValidationFailed("业主名册为空，不能确认", code="roster_empty")
    owners: dict[str, list[bool]] = defaultdict(list)
    for code, role, rep in rows:
        owners.setdefault(code, [])
        if role == "owner":
            owners[code].append(bool(rep))
    bad = []
    for code, reps in owners.items():
        if not reps:
            bad.append({"unit_code": code, "reason": "没有业主"})
        elif sum(reps) != 1:
            bad.append({"unit_code": code, "reason": "共有房屋须有且只有一名代表业主"})
    if bad:
        raise ValidationFailed("业主名册不完整，不能确认", code="roster_invalid", details={"units": bad[:200]})
    roster.status = "certified"
    roster.certified_at = utcnow()
    roster.certified_by_id = actor.id
    roster.published_on = published_on or utcnow().astimezone(SHANGHAI).date()
    audit.record("roster.certify", "roster", roster.id, actor=actor, actor_role=actor_role(actor, org),
                 data={"published_on": roster.published_on.isoformat(), "units": len(owners)})
    return roster


def new_version(roster_id: int, *, reason: str, actor) -> Roster:
    """A new draft version of a certified roster, copying all its rows, with the reason for the
    change (the old version stays as it was, and votes frozen on it keep it).

    :raises Conflict: ``roster_not_certified`` (change the draft itself instead).
    :raises Forbidden: ``not_owners_committee``.  Order: permission, then state.
    """
    old = get_roster(roster_id)
    org = acting_org(actor, old.scope_place_id)
    if old.status != "certified":
        raise Conflict("草稿名册可直接修改，无需新建版本", code="roster_not_certified")
    reason = require_text(reason, "reason", 2000)
    new = Roster(compound_id=old.compound_id, scope_place_id=old.scope_place_id, name=old.name,
                 version=old.version + 1, previous_id=old.id, change_reason=reason, source=old.source,
                 created_by_id=actor.id)
    db.session.add(new)
    db.session.flush()
    persons = db.session.scalars(sa.select(RosterPerson).where(RosterPerson.roster_id == old.id)).all()
    person_map = {p.id: RosterPerson(roster_id=new.id, kind=p.kind, name=p.name, phone=p.phone, user_id=p.user_id,
                                     verified_at=p.verified_at) for p in persons}
    units = db.session.scalars(sa.select(RosterUnit).where(RosterUnit.roster_id == old.id)).all()
    unit_map = {u.id: RosterUnit(roster_id=new.id, place_id=u.place_id, unit_code=u.unit_code, building=u.building,
                                 area=u.area, area_source=u.area_source, developer_status=u.developer_status)
                for u in units}
    db.session.add_all(list(person_map.values()) + list(unit_map.values()))
    db.session.flush()
    ties = db.session.scalars(
        sa.select(RosterOwner).join(RosterUnit, RosterUnit.id == RosterOwner.roster_unit_id)
        .where(RosterUnit.roster_id == old.id)).all()
    db.session.add_all([RosterOwner(roster_unit_id=unit_map[t.roster_unit_id].id, person_id=person_map[t.person_id].id,
                                    role=t.role, representative=t.representative) for t in ties])
    db.session.flush()
    audit.record("roster.new_version", "roster", new.id, actor=actor, actor_role=actor_role(actor, org),
                 note=reason, data={"previous_id": old.id, "version": new.version})
    return new


def list_units(roster_id: int, actor, *, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    """A page of the roster's units with their owners (phones masked), in unit id order."""
    from civic.core.pagination import paginate
    from civic.core.text import mask_phone

    roster = get_roster(roster_id)
    acting_org(actor, roster.scope_place_id)
    rows, next_cursor = paginate(sa.select(RosterUnit).where(RosterUnit.roster_id == roster.id),
                                 [RosterUnit.id], cursor=cursor, limit=limit, descending=False)
    ties = db.session.execute(
        sa.select(RosterOwner, RosterPerson).join(RosterPerson, RosterPerson.id == RosterOwner.person_id)
        .where(RosterOwner.roster_unit_id.in_([r.id for r in rows])).order_by(RosterOwner.id)
    ).all()
    by_unit: dict[int, list[dict]] = defaultdict(list)
    for t, p in ties:
        by_unit[t.roster_unit_id].append({"person_id": p.id, "name": p.name, "phone": mask_phone(p.phone),
                                          "kind": p.kind, "role": t.role, "representative": t.representative,
                                          "verified": p.user_id is not None})
    items = [{"id": r.id, "unit_code": r.unit_code, "building": r.building, "area": r.area,
              "area_source": r.area_source, "developer_status": r.developer_status, "owners": by_unit[r.id]}
             for r in rows]
    return items, next_cursor


def roster_summary(roster: Roster) -> dict:
    """The roster with its totals: units, area (m², Decimal) and persons."""
    units, area = db.session.execute(
        sa.select(sa.func.count(RosterUnit.id), sa.func.coalesce(sa.func.sum(RosterUnit.area), 0))
        .where(RosterUnit.roster_id == roster.id)).one()
    return {"roster": roster, "units": units, "area": area}


def _latest_certified(unit_id: int):
    """``(roster id | None, the unit-row condition)``: the latest certified roster of the unit's
    compound listing the unit ``unit_id`` (a registry place id), by place, or by code for a CSV roster."""
    unit = registry.get_place(unit_id)
    compound = registry.ancestor_of_kind(unit, "compound")
    # A roster built from the registry names the unit by its place; one imported from CSV by its code.
    this_unit = sa.or_(RosterUnit.place_id == unit.id,
                       sa.and_(RosterUnit.place_id.is_(None), RosterUnit.unit_code == unit.code))
    if compound is None:
        return None, this_unit
    roster_id = db.session.scalar(
        sa.select(Roster.id).join(RosterUnit, RosterUnit.roster_id == Roster.id)
        .where(Roster.compound_id == compound.id, Roster.status == "certified", this_unit)
        .order_by(Roster.certified_at.desc(), Roster.id.desc()).limit(1))
    return roster_id, this_unit


def roster_match(unit_id: int, name: str, phone: str | None) -> dict:
    """Whether a person is an owner of the unit ``unit_id`` (a registry place id) on the latest
    certified roster of its compound listing that unit (by place, or by code for a CSV roster):
    ``{"roster_id": int | None, "match": bool}``.

    ``roster_id`` is None when no certified roster lists the unit (then only documents or the
    committee can tell).  ``match`` holds when one of the unit's owners on that roster (role
    ``owner``, never a ``buyer``: SPC 法释〔2009〕7号 Art. 9) has exactly this name and this phone
    (digits, as stored).  The certified roster is the owners' committee's published record of who
    owns what (上海市住宅物业管理规定 Art. 16), so a match is proof enough to tie a resident to the
    unit as its owner.  Other domains ask here instead of reading the roster's tables.
    """
    roster_id, this_unit = _latest_certified(unit_id)
    if roster_id is None or not phone:
        return {"roster_id": roster_id, "match": False}
    match = db.session.scalar(sa.select(sa.exists().where(
        RosterUnit.roster_id == roster_id, this_unit,
        RosterOwner.roster_unit_id == RosterUnit.id, RosterOwner.role == "owner",
        RosterOwner.person_id == RosterPerson.id, RosterPerson.name == name.strip(),
        RosterPerson.phone == phone)))
    return {"roster_id": roster_id, "match": bool(match)}


def link_confirmed_owner(unit_id: int, name: str, user_id: int, *, via: str, actor=None) -> int | None:
    """Tie an account to its owner entry on the certified roster once a claim to the unit as its
    owner was confirmed by whoever holds the roster's truth: a name-and-phone match with the roster
    (``via="roster"``; the account's phone was proven by a one-time code at login) or the owners'
    committee, the roster's keeper (``via="owners_committee"``; 上海市住宅物业管理规定 Art. 16).  From
    then on the account votes for that owner's head in every vote on the roster, as if it had
    verified the roster's phone (:func:`civic.voting.service.electorate.verify_owner`).

    Returns the roster person's id, or None when nothing is tied: no certified roster lists the
    unit, no owner of the unit on it has exactly this name, two have it (the committee must tell
    which: the owner verifies by the roster's phone), or that owner's entry is already tied to
    another account (never taken over: it stays theirs until the committee acts).  Audited as
    ``roster.person_verified`` with ``via``.  Other domains call this instead of writing the
    roster's tables.
    """
    roster_id, this_unit = _latest_certified(unit_id)
    if roster_id is None:
        return None
    people = db.session.execute(
        sa.select(RosterPerson.id, RosterPerson.user_id)
        .join(RosterOwner, RosterOwner.person_id == RosterPerson.id)
        .join(RosterUnit, RosterUnit.id == RosterOwner.roster_unit_id)
        .where(RosterUnit.roster_id == roster_id, this_unit, RosterOwner.role == "owner",
               RosterPerson.name == name.strip())).all()
    ids = {p.id: p.user_id for p in people}
    if len(ids) != 1:
        return None
    (person_id, holder), = ids.items()
    if holder == user_id:
        return person_id
    if holder is not None:
        return None
    # Conditional, like verify_owner: an owner verifying by phone at this moment keeps the entry.
    tied = db.session.execute(
        sa.update(RosterPerson).where(RosterPerson.id == person_id, RosterPerson.user_id.is_(None))
        .values(user_id=user_id, verified_at=utcnow()).execution_options(synchronize_session=False))
    if tied.rowcount != 1:
        return None
    audit.record("roster.person_verified", "roster", roster_id, actor=actor,
                 actor_role=None if actor is not None else "system",
                 data={"person_id": person_id, "user_id": user_id, "via": via})
    return person_id
