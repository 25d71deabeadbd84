"""Routing by Shanghai practice, with sources (issue #18 point 3): every rule has its source; noise
by its source; damaged greenery by the property company led by 城管; load-bearing damage decided by
the housing authority; occupied corridors escalated to 城管 and the fire authority when the property
company lets the case lapse, and e-bike cases to 城管, not 公安; a complaint about a party never led
by that party (a sweep over every rule × every party kind, with district overrides entered through
the API); noise without a photo."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest

from civic.complaints import routing
from civic.complaints.service.assignment import plan_lead
from civic.core.db import commit, utcnow
from civic.property.models import SIX_PARTIES
from tests.complaints.helpers import post_case, wechat

# ---- the data --------------------------------------------------------------------------------


def test_every_rule_has_its_source_law_article_and_url():
    rules = routing.defaults_file()["rules"]
    assert len(rules) == 16
    for key, rule in rules.items():
        assert rule["basis"], f"{key} has no source"
        for b in rule["basis"]:
            assert b["law"].strip() and b["article"].strip(), (key, b)
            assert b["url"].startswith(("https://", "http://")), (key, b)
            assert isinstance(b["seen"], bool) and b["note"].strip(), (key, b)


def test_a_source_is_marked_seen_only_with_the_sentence_read_there():
    """seen: true only where the article's wording was read at the URL, and then the sentence relied
    on is quoted (Chinese, short); an article whose number is uncertain (条号待核) or a URL that is only
    a site's front page is never 'seen'; every unseen source says in its note what is missing."""
    seen = unseen = 0
    for key, rule in routing.defaults_file()["rules"].items():
        for b in rule["basis"]:
            quote = b.get("quote")
            if b["seen"]:
                seen += 1
                assert quote and 5 <= len(quote) <= 200 and "\u4e00" <= quote[0] <= "\u9fff", (key, b["article"])
                assert "待核" not in b["article"], (key, b["article"])
                assert urlsplit(b["url"]).path.strip("/") not in ("", "index.html"), (key, b["url"])  # a page, not a front page
            else:
                unseen += 1
                assert not quote, (key, b["article"])
                assert "未读到" in b["note"] or "未找到" in b["note"], (key, b["article"])
    assert (seen, unseen) == (46, 6)
    rules = routing.defaults_file()["rules"]
    # the ones read: social-life noise to 公安, the 24-hour report of a property company, fire exits.
    assert rules["noise.social_life"]["basis"][0]["quote"].startswith("公安机关按照法定职责")
    assert "二十四小时内报告" in rules["public_space_occupation"]["basis"][1]["quote"]
    assert rules["load_bearing_damage"]["basis"][0]["quote"] == "禁止下列损害公共利益及他人利益的行为：损坏房屋承重结构。"
    # the renamed regulation is cited by its name in force
    laws = {b["law"] for r in rules.values() for b in r["basis"]}
    assert not [law for law in laws if law.startswith("上海市城市管理行政执法条例")]
    assert [law for law in laws if law.startswith("上海市城市管理综合行政执法条例")]


def test_the_documented_table_lists_every_rule():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "routing.md").read_text(encoding="utf-8")
    for key, rule in routing.defaults_file()["rules"].items():
        assert f"| `{key}` " in text, key
        for b in rule["basis"]:
            assert b["url"] in text, (key, b["url"])


def test_every_authority_named_by_a_rule_is_known():
    data = routing.defaults_file()
    names = set(data["authorities"])
    for key, rule in data["rules"].items():
        named = set(rule.get("referrals", [])) | {rule.get("competent_authority")} - {None}
        named |= set((rule.get("escalation") or {}).get("referrals", []))
        assert named <= names, key
        assert rule["lead_kind"] in routing.LEAD_KINDS and set(rule["lead_fallbacks"]) <= set(routing.LEAD_KINDS)


def test_each_detail_belongs_to_its_category_and_has_a_rule():
    keys = set(routing.rule_keys())
    for category in routing.categories():
        for detail in routing.details(category):
            assert f"{category}.{detail}" in keys
    assert routing.details("noise") == {"construction": "建筑施工噪声", "social_life": "社会生活噪声（人为、娱乐、商业）",
                                        "decoration": "室内装修噪声"}
    assert [k for k in keys if "." in k and k.split(".")[1] not in routing.details(k.split(".")[0])] == []


def test_the_rules_in_force_carry_their_sources_through_the_api(client, w, factory):
    admin = factory.token(factory.admin())
    rules = client.get("/api/v1/routing-rules", headers=admin).get_json()
    assert len(rules) == 16
    by_key = {r["category"]: r for r in rules}
    assert by_key["noise.construction"]["lead_kind"] == "urban_management"
    assert all(r["basis"] and all(b["law"] and b["article"] and b["url"] for b in r["basis"]) for r in rules)
    assert by_key["load_bearing_damage"]["competent_authority"] == "district_housing_authority"


# ---- noise by its source -------------------------------------------------------------------------


@pytest.mark.parametrize(("detail", "lead"), [("construction", "urban_management"), ("social_life", "police"),
                                              ("decoration", "property_company"), (None, "police")])
def test_noise_is_led_by_whoever_answers_for_its_source(client, w, detail, lead):
    fields = {"category_detail": detail} if detail else {}
    r = post_case(client, w.rh, category="noise", description="楼下工地半夜还在打桩，吵得睡不着。",
                  place_id=w.units[0].id, **fields)
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    assert case["lead"]["kind"] == lead and case["lead_fallback"] is False
    assert case["category_detail"] == detail


def test_the_classifiers_noise_suggestion_still_files_a_case(client, w):
    text = "隔壁邻居每天半夜唱卡拉OK，音响开得震天响，吵得小孩根本睡不着觉"
    s = client.post("/api/v1/complaints/suggest", headers=w.rh, json={"text": text}).get_json()
    assert s["suggestions"][0]["category"] == "noise"
    r = post_case(client, w.rh, category=s["suggestions"][0]["category"], description=text, place_id=w.units[0].id,
                  photos=[])
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["lead"]["kind"] == "police" and r.get_json()["photos"] == []


def test_a_detail_of_another_category_is_refused(client, w):
    r = post_case(client, w.rh, category="group_renting", category_detail="construction", place_id=w.units[0].id)
    assert r.status_code == 422
    body = r.get_json()
    assert body["error"]["code"] == "category_detail_unknown" and body["error"]["details"]["allowed"] == []


# ---- photos where a photo cannot show the problem ------------------------------------------------


def test_noise_is_filed_without_a_photo_and_other_categories_still_need_one(client, w):
    r = post_case(client, w.rh, category="noise", category_detail="social_life",
                  description="楼上每天夜里十二点以后还在蹦跳拖椅子。", place_id=w.units[0].id, photos=[])
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["photos"] == []
    r = post_case(client, w.rh, category="public_space_occupation", place_id=w.units[0].id, photos=[])
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "photos_required"
    assert r.get_json()["error"]["details"] == {"category": "public_space_occupation"}


def test_the_openapi_document_says_noise_needs_no_photo(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    form = doc["components"]["schemas"]["IntakeForm"]["properties"]
    assert "photo_optional" in form["photos"]["description"] and "noise" in form["photos"]["description"]
    assert "construction" in form["category_detail"]["description"]
    assert "photos_required (not for photo_optional categories)" in \
        doc["paths"]["/api/v1/complaints"]["post"]["description"]


# ---- greenery, load-bearing structure, corridors ---------------------------------------------------


def test_greenery_damaged_by_the_property_company_is_led_by_urban_management(client, w):
    r = post_case(client, w.rh, category="green_damage", complained_kind="property_company",
                  description="物业自己把小区中心绿地的香樟树砍了，说要改停车位。", place_id=w.units[0].id)
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    assert case["lead"]["kind"] == "urban_management" and case["lead_fallback"] is True
    assert case["complained_kind"] == "property_company"
    parties = {p["kind"]: p["role"] for p in client.get(f"/api/v1/complaints/{case['id']}",
                                                        headers=w.h["urban_management"]).get_json()["parties"]}
    assert parties == {"urban_management": "lead", "owners_committee": "assist", "residents_committee": "assist"}
    # The company complained about is no party: it does not see the case, let alone who filed it.
    assert client.get(f"/api/v1/complaints/{case['id']}", headers=w.h["property_company"]).status_code == 404


def test_load_bearing_damage_is_decided_by_the_housing_authority(client, w):
    case = post_case(client, w.rh, category="load_bearing_damage", description="楼上装修把承重墙砸掉了一半。",
                     place_id=w.units[0].id).get_json()
    assert case["lead"]["kind"] == "urban_management"
    assert case["referrals"] == [{"authority": "district_housing_authority", "name": "区房屋管理局",
                                  "role": "competent"}]


def _lapsed_to_urban_management(client, w, category: str, description: str) -> tuple[dict, dict]:
    """A case of ``category`` the property company leads and lets run past its deadline: the overdue
    job hands the lead to 城管 with the fire authority referred.  Returns the case as 城管 sees it and
    the active parties' roles by kind."""
    from civic.complaints.jobs import escalate_overdue

    case = post_case(client, w.rh, category=category, description=description, place_id=w.units[0].id).get_json()
    assert case["lead"]["kind"] == "property_company"
    assert escalate_overdue(now=utcnow() + dt.timedelta(days=3)) == 1
    commit()
    seen = client.get(f"/api/v1/complaints/{case['id']}", headers=w.h["urban_management"]).get_json()
    assert seen["lead"]["kind"] == "urban_management" and seen["escalated"] is True
    assert {"authority": "fire_authority", "name": "区消防救援支队", "role": "escalation"} in seen["referrals"]
    return seen, {p["kind"]: p["role"] for p in seen["parties"] if p["active"]}


def test_a_corridor_the_property_company_leaves_blocked_goes_to_urban_management_and_the_fire_authority(client, w):
    seen, roles = _lapsed_to_urban_management(client, w, "public_space_occupation", "消防通道被杂物堵死了。")
    assert roles["property_company"] == "assist" and roles["street_centre"] == "oversight"
    history = client.get(f"/api/v1/complaints/{seen['id']}/history", headers=w.h["urban_management"]).get_json()
    assert "超期未处置，移交执法部门主办" in [h["action_name"] for h in history]


def test_an_ebike_case_the_property_company_lets_lapse_goes_to_urban_management_not_the_police(client, w):
    """上海市非机动车安全管理条例 Art. 29 ¶5: a property company whose dissuasion fails reports to 城管 or
    the fire authority (Art. 44 ¶2: 城管 for corridors and flats, 消防救援机构 for fire exits); the
    police station keeps assisting (上海市消防条例 Art. 15: it checks reported fire hazards)."""
    seen, roles = _lapsed_to_urban_management(client, w, "ebike_charging", "楼道里有人拉飞线给电瓶车充电。")
    assert roles["property_company"] == "assist" and roles["police"] == "assist"
    assert roles["street_centre"] == "oversight"


def test_a_fallback_lead_keeps_a_lapsed_case(client, factory):
    from civic.complaints.jobs import escalate_overdue
    from tests.complaints.helpers import World

    w = World(factory, property_company=False)
    case = post_case(client, w.rh, category="public_space_occupation", place_id=w.units[0].id).get_json()
    assert case["lead"]["kind"] == "residents_committee"
    escalate_overdue(now=utcnow() + dt.timedelta(days=3))
    commit()
    seen = client.get(f"/api/v1/complaints/{case['id']}", headers=w.h["residents_committee"]).get_json()
    assert seen["lead"]["kind"] == "residents_committee"
    assert [r for r in seen["referrals"] if r["role"] == "escalation"] == []


# ---- never led by the party complained about: the sweep --------------------------------------------


def test_no_case_is_ever_led_by_the_party_it_complains_about(client, w, factory):
    """Every rule key × every party kind complained about, with the district's rule overridden
    through the API so that its lead IS that kind (the worst case): the lead is another kind."""
    admin = factory.token(factory.admin())
    place = w.units[0]
    checked = 0
    for key in routing.rule_keys():
        category, _, detail = key.partition(".")
        for kind in SIX_PARTIES:
            body = {"lead_kind": kind, "lead_fallbacks": [k for k in SIX_PARTIES if k != kind][:2],
                    "assist_kinds": [], "acknowledge": {"amount": 1, "unit": "working_days"},
                    "resolve": {"amount": 5, "unit": "working_days"}, "reveal_kinds": ["residents_committee"],
                    "basis": [{"law": "测试", "article": "第一条", "url": "https://example.org/rule"}]}
            r = client.put(f"/api/v1/routing-rules/{key}?district_id={w.district.id}", headers=admin, json=body)
            assert r.status_code == 200, r.get_json()
            rule = routing.rule_for(w.district.id, category, detail or None)
            assert (rule.source, rule.lead_kind) == ("district", kind)
            # Nobody complained about: the rule's lead (the test street has no resident representatives'
            # organisation, so there the first fallback present leads).
            assert plan_lead(place, rule).kind == next(k for k in rule.lead_order() if k in w.orgs)
            lead = plan_lead(place, rule, complained_kind=kind)
            assert lead.kind != kind, (key, kind)
            assert lead.kind == next(k for k in rule.lead_order(kind) if k in w.orgs), (key, kind)
            checked += 1
    assert checked == 16 * 6


@pytest.mark.parametrize("kind", SIX_PARTIES)
def test_a_filed_complaint_about_a_party_is_not_led_by_it(client, w, kind):
    # illegal_construction is led by 城管, noise.decoration by the property company, group renting by the
    # RC: each complained party in turn, through intake.
    category, detail = {"urban_management": ("illegal_construction", None),
                        "property_company": ("noise", "decoration"),
                        "residents_committee": ("group_renting", None), "police": ("noise", "social_life"),
                        "owners_committee": ("property_service", None),
                        "resident_representatives": ("public_space_occupation", None)}[kind]
    fields = {"category_detail": detail} if detail else {}
    r = post_case(client, w.rh, category=category, complained_kind=kind, place_id=w.units[0].id, **fields)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["lead"]["kind"] != kind


def test_a_rule_led_by_its_own_complained_party_is_refused(client, w, factory):
    admin = factory.token(factory.admin())
    body = {"lead_kind": "property_company", "complained_kind": "property_company", "assist_kinds": [],
            "acknowledge": {"amount": 1, "unit": "working_days"}, "resolve": {"amount": 5, "unit": "working_days"}}
    r = client.put(f"/api/v1/routing-rules/property_service?district_id={w.district.id}", headers=admin, json=body)
    assert r.status_code == 422
    assert r.get_json()["error"]["details"]["fields"]["lead_kind"] == "被投诉方不得主办针对它的案件"


def test_a_case_is_not_rerouted_to_the_party_it_complains_about(client, w):
    from tests.complaints.helpers import act

    case = post_case(client, w.rh, category="green_damage", complained_kind="property_company",
                     place_id=w.units[0].id).get_json()
    r = act(client, w.h["urban_management"], case["id"], "return", note="不属于城管")
    assert r.status_code == 200, r.get_json()
    r = act(client, w.h["residents_committee"], case["id"], "reroute",
            lead_organisation_id=w.orgs["property_company"].id)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "lead_organisation_invalid"
    assert r.get_json()["error"]["details"]["complained_kind"] == "property_company"


def test_on_the_demo_street_a_complaint_about_the_property_company_reaches_the_rc(client):
    from civic.demo import load_demo

    load_demo()
    commit()
    zhang = wechat(client, "zhang_san")
    unit_id = client.get("/api/v1/me", headers=zhang).get_json()["units"][0]["unit_id"]
    case = post_case(client, zhang, category="property_service", complained_kind="property_company",
                     place_id=unit_id).get_json()
    assert case["lead"]["kind"] == "owners_committee"


def test_the_migration_gives_stored_default_rules_the_checked_sources_but_leaves_edited_ones(tmp_path):
    """0030_routing_sources: a default rule whose basis is still the one written before the audit
    takes the checked basis of the data file; one an administrator edited keeps its own."""
    import json

    import sqlalchemy as sa

    from tests.foundation.test_migrations import _flask_db

    url = f"sqlite:///{tmp_path / 'mig.db'}"
    assert _flask_db(url, "upgrade", "0029_uploads").returncode == 0
    before = [{"law": "上海市居民委员会工作条例", "article": "第二十三条", "url": "https://www.shanghai.gov.cn/nw12344/index.html",
               "seen": False, "note": "其他事项由居委会受理、分流（RULES.md §3 兜底）"}]
    edited = [{"law": "区里自己的规定", "article": "第一条", "url": "https://example.org/rule", "seen": True,
               "note": "区管理员改过"}]
    # the e-bike rule exactly as 0026_triage wrote it: its escalation went to 公安
    ebike = [{"law": "上海市非机动车安全管理条例（2023）与消防法第二十八条", "article": "电动自行车停放充电条款",
              "url": "https://yooc.me/group/5238889/topics/4984005-1", "seen": False,
              "note": "禁止在楼道、疏散通道停放电动自行车或飞线充电；物业劝阻制止，拒不改正的报告消防救援机构/公安派出所"},
             {"law": "中华人民共和国消防法（2021年修正）", "article": "第二十八条、第六十条",
              "url": "https://yooc.me/group/5238889/topics/4984005-1", "seen": True,
              "note": "不得占用、堵塞、封闭疏散通道、安全出口、消防车通道；违者由消防救援机构责令改正，单位罚款五千至五万元，个人警告或五百元以下"}]
    to_police = {"lead_kind": "police", "referrals": ["fire_authority"]}
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for category, lead, basis, esc in [("other", "residents_committee", before, None),
                                           ("thrown_objects", "police", edited, None),
                                           ("ebike_charging", "property_company", ebike, to_police)]:
            conn.execute(sa.text(
                "INSERT INTO routing_rule (district_id, category, lead_kind, assist_kinds, acknowledge_amount, "
                "acknowledge_unit, resolve_amount, resolve_unit, reveal_kinds, referrals, escalation, basis, updated_at) "
                "VALUES (NULL, :c, :lead, '[]', 1, 'working_days', 5, 'working_days', '[]', '[]', :e, :b, "
                "CURRENT_TIMESTAMP)"),
                {"c": category, "lead": lead, "b": json.dumps(basis, ensure_ascii=False),
                 "e": json.dumps(esc) if esc else None})
    done = _flask_db(url, "upgrade")
    assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT category, basis, escalation FROM routing_rule")).all()
    engine.dispose()
    stored = {c: json.loads(b) for c, b, _ in rows}
    escalation = {c: json.loads(e) if e else None for c, _, e in rows}
    assert stored["other"] == routing.defaults_file()["rules"]["other"]["basis"]
    assert stored["other"][0]["law"] == "上海市居民委员会工作条例（2017-07-01施行，2020-05-14修正）"
    assert stored["thrown_objects"] == edited
    # 上海市非机动车安全管理条例 Art. 29 ¶5: a property company reports to 城管 or the fire authority
    assert stored["ebike_charging"] == routing.defaults_file()["rules"]["ebike_charging"]["basis"]
    assert escalation["ebike_charging"] == {"lead_kind": "urban_management", "referrals": ["fire_authority"]}
