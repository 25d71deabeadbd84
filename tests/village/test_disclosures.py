"""Catalogue, the disclosure state machine, finance arithmetic, corrections, membership rules."""

from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa

from civic.core.errors import Conflict, ValidationFailed
from civic.extensions import db
from tests.village.conftest import finance_body


def test_catalogue_is_seeded_from_the_data_file_with_basis_and_cadence(client, vil):
    r = client.get("/api/v1/villages/V-T/catalogue", headers=vil["h_villager"])
    items = {i["code"]: i for i in r.json}
    assert {i["category"] for i in r.json} == {"party", "affairs", "finance", "services"}
    assert items["finance.accounts"]["cadence"] == "quarterly" and items["finance.accounts"]["monthly_if_busy"] is True
    assert "第30条" in items["finance.accounts"]["legal_basis"]
    assert items["affairs.major"]["cadence"] == "immediate"


def test_committee_edits_the_catalogue(client, vil):
    r = client.post("/api/v1/villages/V-T/catalogue", headers=vil["h_hua"], json={
        "code": "affairs.homesteads", "category": "affairs", "title": "宅基地审批情况",
        "legal_basis": "上海市实施办法第23条", "cadence": "quarterly"})
    assert r.status_code == 201
    r = client.patch(f"/api/v1/villages/V-T/catalogue/{r.json['id']}", headers=vil["h_hua"], json={"cadence": "monthly"})
    assert r.json["cadence"] == "monthly"
    r = client.post("/api/v1/villages/V-T/catalogue", headers=vil["h_jin"], json={
        "code": "affairs.x", "category": "affairs", "title": "x", "legal_basis": "x", "cadence": "yearly"})
    assert r.status_code == 403 and r.json["error"]["code"] == "not_village_committee"


@pytest.mark.parametrize("raw, fen", [("1,234.56", 123456), ("0.10", 10), ("12345678.9", 1234567890), (500, 500)])
def test_amounts_parse_exactly_to_fen(raw, fen):
    from civic.village.service import parse_amount

    assert parse_amount(raw) == fen


@pytest.mark.parametrize("raw", [1.5, "1,23.45", "1.234", "-5", "abc", 0, True])
def test_bad_amounts_are_refused(raw):
    from civic.village.service import parse_amount

    with pytest.raises(ValidationFailed) as e:
        parse_amount(raw)
    assert e.value.code == "amount_invalid"


def test_full_flow_publishes_with_content_hash_over_canonical_json(publish):
    from civic.village.models import Disclosure
    from civic.village.service import content_of

    out = publish()
    assert out["status"] == "published"
    assert [ln["amount_fen"] for ln in out["lines"]] == [123456, 80000, 8431]
    assert out["totals"]["income"] == 123456 and out["totals"]["expense"] == 88431
    assert out["totals"]["by_account"] == [
        {"account": "上级补助收入", "income": 123456, "expense": 0},
        {"account": "公益支出", "income": 0, "expense": 80000},
        {"account": "管理费用", "income": 0, "expense": 8431}]
    d = db.session.get(Disclosure, out["id"])
    blob = json.dumps(content_of(d), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert out["content_hash"] == hashlib.sha256(blob).hexdigest()


def test_transitions_are_audited(publish):
    from civic.core.audit import entries_for

    out = publish()
    actions = [e.action for e in entries_for("village_disclosure", out["id"])]
    assert actions == ["disclosure.create", "disclosure.submit", "disclosure.sign_off", "disclosure.publish"]


def test_publication_refused_when_balances_do_not_add_up(client, vil):
    r = client.post("/api/v1/villages/V-T/disclosures", json=finance_body(closing="10,350.00"), headers=vil["h_hua"])
    did = r.json["id"]
    client.post(f"/api/v1/village-disclosures/{did}/transitions", json={"action": "submit"}, headers=vil["h_hua"])
    client.post(f"/api/v1/village-disclosures/{did}/transitions", json={"action": "sign_off"}, headers=vil["h_jin"])
    r = client.post(f"/api/v1/village-disclosures/{did}/transitions", json={"action": "publish"}, headers=vil["h_hua"])
    assert r.status_code == 409
    assert r.json["error"]["code"] == "balance_mismatch"
    assert r.json["error"]["details"] == {"opening_balance": 1000000, "income": 123456, "expense": 88431,
                                          "closing_balance": 1035000, "expected_closing": 1035025,
                                          "difference": -25}


def test_committee_cannot_sign_off(client, vil):
    r = client.post("/api/v1/villages/V-T/disclosures", json=finance_body(), headers=vil["h_hua"])
    did = r.json["id"]
    client.post(f"/api/v1/village-disclosures/{did}/transitions", json={"action": "submit"}, headers=vil["h_hua"])
    r = client.post(f"/api/v1/village-disclosures/{did}/transitions", json={"action": "sign_off"}, headers=vil["h_hua"])
    assert r.status_code == 403 and r.json["error"]["code"] == "not_village_supervision"


def test_publish_before_sign_off_is_refused(client, vil):
    r = client.post("/api/v1/villages/V-T/disclosures", json=finance_body(), headers=vil["h_hua"])
    did = r.json["id"]
    client.post(f"/api/v1/village-disclosures/{did}/transitions", json={"action": "submit"}, headers=vil["h_hua"])
    r = client.post(f"/api/v1/village-disclosures/{did}/transitions", json={"action": "publish"}, headers=vil["h_hua"])
    assert r.status_code == 409 and r.json["error"]["code"] == "transition_invalid"


def test_sign_off_by_a_village_committee_member_is_refused(client, vil):
    from civic.accounts.models import Membership

    # A membership from before the rule was enforced (written past the ORM guard).
    db.session.execute(sa.insert(Membership).values(user_id=vil["jin"].id, organisation_id=vil["vc"].id, role="handler"))
    db.session.commit()
    r = client.post("/api/v1/villages/V-T/disclosures", json=finance_body(), headers=vil["h_hua"])
    did = r.json["id"]
    client.post(f"/api/v1/village-disclosures/{did}/transitions", json={"action": "submit"}, headers=vil["h_hua"])
    r = client.post(f"/api/v1/village-disclosures/{did}/transitions", json={"action": "sign_off"}, headers=vil["h_jin"])
    assert r.status_code == 403 and r.json["error"]["code"] == "supervision_conflict"


def test_membership_on_both_committees_is_refused(client, factory, vil):
    admin = factory.admin()
    r = client.post("/api/v1/villages/V-T/members", headers=factory.token(admin),
                    json={"organisation_id": vil["vs"].id, "user_id": vil["hua"].id})
    assert r.status_code == 409 and r.json["error"]["code"] == "supervision_conflict"


def test_membership_refused_however_it_is_made(vil):
    from civic.accounts.service import create_staff

    with pytest.raises(Conflict) as e:
        create_staff(username="both", password="test-pass-123", display_name="两委兼任",
                     memberships=[(vil["vc"], "handler"), (vil["vs"], "handler")])
        db.session.flush()
    assert e.value.code == "supervision_conflict"
    db.session.rollback()


def test_submitted_disclosure_cannot_be_edited(client, vil):
    r = client.post("/api/v1/villages/V-T/disclosures", json=finance_body(), headers=vil["h_hua"])
    did = r.json["id"]
    client.post(f"/api/v1/village-disclosures/{did}/transitions", json={"action": "submit"}, headers=vil["h_hua"])
    r = client.patch(f"/api/v1/village-disclosures/{did}", json={"title": "改"}, headers=vil["h_hua"])
    assert r.status_code == 409 and r.json["error"]["code"] == "disclosure_locked"


def test_correction_is_a_new_version_and_the_old_stays_marked(client, vil, publish):
    old = publish()
    r = client.post(f"/api/v1/village-disclosures/{old['id']}/corrections", headers=vil["h_hua"], json={
        "reason": "办公用品金额录入错误", "closing_balance": "10,350.00"})
    new = r.json
    assert new["version"] == 2 and new["supersedes_id"] == old["id"] and len(new["lines"]) == 3
    # still unbalanced: the expense line must change too
    client.delete(f"/api/v1/village-disclosures/{new['id']}/lines/{new['lines'][2]['id']}", headers=vil["h_hua"])
    client.patch(f"/api/v1/village-disclosures/{new['id']}", headers=vil["h_hua"], json={"lines": [
        {"kind": "expense", "date": "2026-03-09", "account": "管理费用", "description": "办公用品",
         "amount_yuan": "84.56"}]})
    for action, h in (("submit", "h_hua"), ("sign_off", "h_jin"), ("publish", "h_hua")):
        r = client.post(f"/api/v1/village-disclosures/{new['id']}/transitions", json={"action": action}, headers=vil[h])
        assert r.status_code == 200, r.json
    r = client.get(f"/api/v1/village-disclosures/{old['id']}", headers=vil["h_villager"])
    assert r.json["status"] == "corrected" and r.json["corrected_by_id"] == new["id"]
    assert r.json["content_hash"] == old["content_hash"]
    page = client.get(f"/villages/V-T/disclosures/{new['id']}").data.decode()
    assert "办公用品金额录入错误" in page and old["content_hash"] in page and "已更正" in page


def test_published_disclosure_is_never_changed_in_place(publish):
    from civic.village.models import Disclosure

    d = db.session.get(Disclosure, publish()["id"])
    d.title = "悄悄改"
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()


def test_draft_is_invisible_to_villagers(client, vil):
    r = client.post("/api/v1/villages/V-T/disclosures", json=finance_body(), headers=vil["h_hua"])
    assert client.get(f"/api/v1/village-disclosures/{r.json['id']}", headers=vil["h_villager"]).status_code == 403
    assert client.get(f"/villages/V-T/disclosures/{r.json['id']}").status_code == 404


def test_vouchers_go_through_the_photo_pipeline_and_show_only_when_published(client, vil, shared_dir):
    r = client.post("/api/v1/villages/V-T/disclosures", json=finance_body(), headers=vil["h_hua"])
    did, line = r.json["id"], r.json["lines"][1]["id"]
    photo = (shared_dir / "photos" / "ianare_landscape_2.jpg").read_bytes()
    r = client.post(f"/api/v1/village-disclosures/{did}/lines/{line}/vouchers", headers=vil["h_hua"],
                    data={"photos": [(__import__("io").BytesIO(photo), "v.jpg")]}, content_type="multipart/form-data")
    assert r.status_code == 201
    vid = r.json[0]["id"]
    assert client.get(f"/villages/V-T/vouchers/{vid}.jpg?size=thumb").status_code == 404
    for action, h in (("submit", "h_hua"), ("sign_off", "h_jin"), ("publish", "h_hua")):
        client.post(f"/api/v1/village-disclosures/{did}/transitions", json={"action": action}, headers=vil[h])
    r = client.get(f"/villages/V-T/vouchers/{vid}.jpg?size=thumb")
    assert r.status_code == 200 and r.data[:3] == b"\xff\xd8\xff" and b"Exif" not in r.data[:200]
    assert f"/villages/V-T/vouchers/{vid}.jpg?size=thumb" in client.get(f"/villages/V-T/disclosures/{did}").data.decode()


def test_non_image_voucher_is_refused(client, vil):
    r = client.post("/api/v1/villages/V-T/disclosures", json=finance_body(), headers=vil["h_hua"])
    r = client.post(f"/api/v1/village-disclosures/{r.json['id']}/lines/{r.json['lines'][0]['id']}/vouchers",
                    headers=vil["h_hua"], data={"photos": [(__import__("io").BytesIO(b"%PDF-1.4"), "a.pdf")]},
                    content_type="multipart/form-data")
    assert r.status_code == 415 and r.json["error"]["code"] == "photo_format_unsupported"


def test_float_amount_is_refused_by_the_api(client, vil):
    body = finance_body()
    body["lines"][0] = {**body["lines"][0], "amount_fen": 12.5}
    body["lines"][0].pop("amount_yuan")
    r = client.post("/api/v1/villages/V-T/disclosures", json=body, headers=vil["h_hua"])
    assert r.status_code == 422
