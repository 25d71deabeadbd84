"""Compliance per period, the daily overdue job (messages through the core outbox), inquiries and
their 15 days."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.core.db import SHANGHAI, commit
from civic.extensions import db
from tests.jobs import drain


def _rows(client, vil, on, period=None):
    q = f"?on={on}" + (f"&period={period}" if period else "")
    r = client.get(f"/api/v1/villages/V-T/compliance{q}", headers=vil["h_wang"])
    assert r.status_code == 200, r.json
    return {(x["item_code"], x["period"]): x["status"] for x in r.json["items"]}


def test_finance_is_monthly_for_a_busy_village_and_overdue_after_due_days(client, vil, publish):
    publish(period="2026-01")
    rows = _rows(client, vil, "2026-03-05")
    assert rows[("finance.accounts", "2026-01")] == "published"
    assert rows[("finance.accounts", "2026-02")] == "due"  # ended 02-28, due by 03-10
    assert rows[("finance.accounts", "2026-03")] == "current"
    assert _rows(client, vil, "2026-03-11")[("finance.accounts", "2026-02")] == "overdue"


def test_finance_is_quarterly_for_a_quiet_village(client, vil):
    client.patch("/api/v1/villages/V-T/settings", json={"many_transactions": False}, headers=vil["h_hua"])
    rows = _rows(client, vil, "2026-04-11", period="2026-Q1")
    assert rows == {("party.organisation", "2026-Q1"): "overdue", ("affairs.decisions", "2026-Q1"): "overdue",
                    ("finance.accounts", "2026-Q1"): "overdue", ("finance.subsidies", "2026-Q1"): "overdue",
                    ("services.policies", "2026-Q1"): "overdue"}


def _messages(user):
    """The user's rows in the core outbox, oldest first."""
    import sqlalchemy as sa

    from civic.core.notifications import Notification

    db.session.expire_all()
    return list(db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def test_daily_job_tells_each_street_centre_member_once_through_the_outbox(client, vil, factory):
    from civic.core.jobs import tick
    from civic.village.service import compliance, today_shanghai

    deputy = factory.staff(vil["sc"], "viewer")
    factory.commit()
    today = today_shanghai()
    overdue = {(r["item_code"], r["period"]) for r in compliance(vil["village"], today) if r["status"] == "overdue"}
    assert ("finance.accounts", "2026-01") in overdue
    at = dt.datetime.combine(today, dt.time(1, 5), tzinfo=SHANGHAI)
    assert "village.flag_overdue" in tick(at)
    drain()
    for member in (vil["wang"], deputy):
        notes = _messages(member)
        assert {(n.payload["item_code"], n.payload["period"]) for n in notes} == overdue
        assert {(n.template, n.status, n.object_type, n.object_id) for n in notes} == {
            ("village_disclosure_overdue", "sent", "village", str(vil["village"].id))}
        assert all(n.sent_at is not None and n.attempts == 1 for n in notes)
    assert _messages(vil["jin"]) == [] and _messages(vil["hua"]) == []
    tick(at + dt.timedelta(days=1))
    drain()
    assert len(_messages(vil["wang"])) == len(overdue)


def test_overdue_notices_reach_the_staff_inbox(client, vil):
    from civic.village.service import flag_overdue

    assert flag_overdue() > 0
    commit()
    drain()
    r = client.get("/api/v1/me/notifications?limit=100", headers=vil["h_wang"])
    assert r.status_code == 200, r.json
    assert "测试村「村集体财务收支情况」2026-01 逾期未公开" in [n["title"] for n in r.json["items"]]


def test_village_has_no_outbox_of_its_own(app):
    from civic.extensions import db as _db

    assert "village_notice" not in _db.metadata.tables


def test_street_overview_lists_its_villages(client, vil):
    r = client.get("/api/v1/streets/S-T/village-overview?on=2026-02-12", headers=vil["h_wang"])
    assert r.status_code == 200
    v = r.json["villages"][0]
    assert (v["village_code"], v["overdue"], v["overdue_items"][0]["period"]) == ("V-T", 1, "2026-01")
    assert client.get("/api/v1/streets/S-T/village-overview", headers=vil["h_hua"]).status_code == 403


def _ask(client, vil, publish):
    did = publish()["id"]
    r = client.post(f"/api/v1/village-disclosures/{did}/inquiries", json={"question": "道路修补是哪段路？"},
                    headers=vil["h_villager"])
    assert r.status_code == 201
    return did, r.json


def test_inquiry_is_due_in_fifteen_days(client, vil, publish):
    _did, inq = _ask(client, vil, publish)
    asked = dt.datetime.fromisoformat(inq["asked_at"])
    due = dt.datetime.fromisoformat(inq["due_at"])
    # The end of the 15th day after the day asked (or of the first working day after it).
    assert due.time() == dt.time(23, 59, 59) and due.utcoffset() == dt.timedelta(hours=8)
    assert 15 <= (due.date() - asked.date()).days <= 15 + 9


def test_unanswered_inquiry_after_fifteen_days_shows_to_supervision_and_town(client, vil, publish):
    from civic.village.models import Inquiry
    from civic.village.service import flag_overdue

    _did, inq = _ask(client, vil, publish)
    assert client.get("/api/v1/villages/V-T/inquiries?overdue=true", headers=vil["h_jin"]).json["items"] == []
    row = db.session.get(Inquiry, inq["id"])
    row.asked_at -= dt.timedelta(days=16)
    row.due_at -= dt.timedelta(days=16)
    db.session.commit()
    for h in ("h_jin", "h_wang"):
        assert [i["id"] for i in client.get("/api/v1/villages/V-T/inquiries?overdue=true", headers=vil[h]).json["items"]] == [inq["id"]]
    flag_overdue()
    commit()
    drain()
    assert [(n.template, n.payload["inquiry_id"], n.status) for n in _messages(vil["jin"])] == [
        ("village_inquiry_overdue", inq["id"], "sent")]
    assert "village_inquiry_overdue" in [n.template for n in _messages(vil["wang"])]
    flag_overdue()
    commit()
    assert len(_messages(vil["jin"])) == 1


def test_answer_shows_on_the_public_page_without_the_asker(client, vil, publish):
    did, inq = _ask(client, vil, publish)
    r = client.post(f"/api/v1/village-inquiries/{inq['id']}/answer", json={"answer": "是村东头的新丰路。"},
                    headers=vil["h_hua"])
    assert r.status_code == 200 and "asker_id" not in r.json
    page = client.get(f"/villages/V-T/disclosures/{did}").data.decode()
    assert "道路修补是哪段路？" in page and "是村东头的新丰路。" in page
    assert "13912345678" not in page and "139****5678" not in page and "测试居民" not in page


def test_staff_cannot_ask(client, vil, publish):
    did = publish()["id"]
    r = client.post(f"/api/v1/village-disclosures/{did}/inquiries", json={"question": "?"}, headers=vil["h_hua"])
    assert r.status_code == 403


def test_a_resident_of_another_compound_cannot_ask_the_village(client, vil, publish):
    """组织法 Art. 31 gives the inquiry to 村民: 张三 of a compound elsewhere is refused, and nothing
    shows on the public page or counts towards the committee's 15-day reply duty."""
    from civic.village.models import Inquiry

    did = publish()["id"]
    before = client.get(f"/villages/V-T/disclosures/{did}").data.decode()
    r = client.post(f"/api/v1/village-disclosures/{did}/inquiries", json={"question": "这笔钱用到哪里去了？"},
                    headers=vil["h_outsider"])
    assert r.status_code == 403
    assert r.json["error"]["code"] == "not_villager"
    assert r.json["error"]["message"] == "仅在本村登记的村民可以就本村公开事项提出查询"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 0
    assert client.get(f"/villages/V-T/disclosures/{did}").data.decode() == before
    assert client.get("/api/v1/villages/V-T/inquiries", headers=vil["h_hua"]).json["items"] == []


def test_a_resident_tied_to_no_unit_cannot_ask(client, vil, publish, factory):
    did = publish()["id"]
    stranger = factory.resident(phone="13912349999")
    r = client.post(f"/api/v1/village-disclosures/{did}/inquiries", json={"question": "请问？"},
                    headers=factory.token(stranger))
    assert r.status_code == 403 and r.json["error"]["code"] == "not_villager"


def test_a_tenant_in_the_village_may_ask(client, vil, publish, factory):
    """Whoever the registry ties to a home in the village (owner, co-owner or tenant) may ask."""
    did = publish()["id"]
    tenant = factory.resident(phone="13912348888", units=[vil["home"]], relation="tenant")
    r = client.post(f"/api/v1/village-disclosures/{did}/inquiries", json={"question": "补贴何时发放？"},
                    headers=factory.token(tenant))
    assert r.status_code == 201, r.json
    assert client.get("/api/v1/villages/V-T/inquiries", headers=vil["h_hua"]).json["items"][0]["id"] == r.json["id"]
