"""The demo street runs 绿化提升金点子 from submission to a winner being carried out, through the API:
a hidden idea and its appeal, supports, a jury with a conflict of interest, the published ranking,
adoption, milestones with photos, and the notifications that go with them."""

from __future__ import annotations

import io

import sqlalchemy as sa

from civic.accounts.models import User
from civic.core.db import commit
from civic.demo import load_demo
from civic.extensions import db
from civic.proposals.contests.models import Contest
from tests.jobs import drain
from tests.proposals.conftest import phases_at

API = "/api/v1"


def test_demo_contest_from_submission_to_a_winner_carried_out(app, factory, shared_dir):
    load_demo()
    commit()
    client = app.test_client()
    users = {u.username or u.wechat_openid.removeprefix("dev-"): u for u in db.session.scalars(
        sa.select(User).where(sa.or_(User.username.is_not(None), User.wechat_openid.is_not(None))))}
    h = {k: factory.token(u) for k, u in users.items() if k in {
        "rc_bj_chen", "rc_bj_zhou", "pc_sm_sun", "rr_bj_yan", "zhang_san", "li_si", "wang_wu", "zhao_liu",
        "sun_qi", "zhou_ba"}}
    contest = db.session.scalar(sa.select(Contest).where(Contest.theme == "绿化提升金点子"))
    cid = contest.id
    c = client.get(f"{API}/contests/{cid}", headers=h["zhang_san"]).json
    assert c["phase"] == "submission" and [x["name"] for x in c["criteria"]] == ["创新性", "可行性", "受益面", "成本"]

    def phase(name):
        r = client.put(f"{API}/contests/{cid}/schedule", json={"phases": phases_at(name)}, headers=h["rc_bj_chen"])
        assert r.json["phase"] == name

    # Submission: the demo's two ideas, plus wang_wu's, which the moderator hides.
    demo_ideas = client.get(f"{API}/me/ideas", headers=h["zhang_san"]).json["items"]
    garden = demo_ideas[0]["id"]
    vine = client.get(f"{API}/me/ideas", headers=h["li_si"]).json["items"][0]["id"]
    up = client.post(f"{API}/contest-photos", headers=h["wang_wu"], content_type="multipart/form-data",
                     data={"photos": [(io.BytesIO((shared_dir / "photos" / "ianare_landscape_2.jpg").read_bytes()), "a.jpg")]})
    bench = client.post(f"{API}/contests/{cid}/ideas", headers=h["wang_wu"], json={
        "title": "中心花园增设休息长椅", "category": "休憩设施", "photos": [up.json["items"][0]["display_key"]],
        "text": "中心花园老人多，建议沿步道增设六张带靠背的长椅，并在长椅旁种植遮阴树。"}).json["id"]
    assert client.post(f"{API}/moderation/idea/{bench}/decisions", json={"action": "hide", "reason": "照片疑似网图，请核实"},
                       headers=h["rc_bj_zhou"]).json["state"] == "hidden"
    client.post(f"{API}/moderation/idea/{bench}/appeal", json={"text": "照片是我在小区拍的"}, headers=h["wang_wu"])
    r = client.post(f"{API}/moderation/idea/{bench}/appeal/decision", json={"outcome": "overturned", "note": "已核实"},
                    headers=h["rc_bj_chen"])
    assert r.json["outcome"] == "overturned"
    client.post(f"{API}/moderation/idea/{vine}/decisions", json={"action": "approve"}, headers=h["rc_bj_zhou"])
    client.post(f"{API}/contests/{cid}/jurors", json={"user_id": users["zhao_liu"].id}, headers=h["rc_bj_chen"])

    # Support: residents of 滨江花园 only (周八 lives in 康城苑).
    phase("support")
    for who, idea in [("zhao_liu", garden), ("sun_qi", garden), ("wang_wu", garden), ("li_si", garden),
                      ("zhao_liu", bench), ("zhang_san", bench), ("zhang_san", vine)]:
        assert client.put(f"{API}/ideas/{idea}/support", headers=h[who]).status_code == 200
    assert client.put(f"{API}/ideas/{garden}/support", headers=h["zhou_ba"]).json["error"]["code"] == "not_a_participant"

    # Review: zhao_liu shares a unit with wang_wu, so may not score wang_wu's idea.
    phase("review")
    crit = [x["id"] for x in c["criteria"]]
    conflict = client.put(f"{API}/ideas/{bench}/scores", json={"scores": {str(i): 10 for i in crit}},
                          headers=h["zhao_liu"])
    assert conflict.status_code == 403 and conflict.json["error"]["code"] == "juror_conflict"
    sheets = {("rr_bj_yan", garden): [8, 9, 9, 7], ("sun_qi", garden): [7, 8, 9, 8],
              ("rr_bj_yan", bench): [6, 9, 8, 9], ("sun_qi", bench): [6, 8, 8, 9],
              ("rr_bj_yan", vine): [7, 6, 5, 8], ("sun_qi", vine): [6, 6, 5, 7]}
    for (who, idea), values in sheets.items():
        r = client.put(f"{API}/ideas/{idea}/scores", json={"scores": {str(i): v for i, v in zip(crit, values, strict=True)}},
                       headers=h[who])
        assert r.status_code == 200, r.json

    # Results: 40% support, 60% jury; criteria weights 25/30/30/15.
    # garden: supports 4/4; jury (8.45 + 8.05)/2 = 8.25 → 0.4·1 + 0.6·0.825 = 0.895.
    phase("results")
    ranking = client.post(f"{API}/contests/{cid}/ranking", headers=h["rc_bj_chen"]).json
    assert [(x["idea_id"], x["support_count"], x["jury_mean"], x["final_score"]) for x in ranking["items"]] == [
        (garden, 4, "8.250000", "0.895000"),
        (bench, 2, "7.800000", "0.668000"),  # (7.95 + 7.65)/2; 0.4·0.5 + 0.6·0.78
        (vine, 1, "6.050000", "0.463000"),  # (6.25 + 5.85)/2; 0.4·0.25 + 0.6·0.605
    ]
    winner = ranking["items"][0]["idea_id"]
    pc = client.get(f"{API}/organisations?kind=property_company", headers=h["rc_bj_chen"]).json["items"][0]
    assert client.post(f"{API}/ideas/{winner}/adopt", json={"organisation_id": pc["id"], "note": "物业负责施工"},
                       headers=h["rc_bj_chen"]).status_code == 201

    # Carrying out, by the responsible property company.
    phase("implementation")
    client.post(f"{API}/ideas/{winner}/implementation/status", json={"status": "in_progress"}, headers=h["pc_sm_sun"])
    m = client.post(f"{API}/ideas/{winner}/milestones", json={"title": "清理空地、铺设步道", "due_on": "2027-04-30"},
                    headers=h["pc_sm_sun"]).json
    ph = client.post(f"{API}/contest-photos", headers=h["pc_sm_sun"], content_type="multipart/form-data",
                     data={"photos": [(io.BytesIO((shared_dir / "photos" / "ianare_portrait_6.jpg").read_bytes()), "p.jpg")]}).json
    u = client.post(f"{API}/milestones/{m['id']}/updates", headers=h["pc_sm_sun"],
                    json={"progress": 100, "note": "步道已铺好", "photos": [ph["items"][0]["display_key"]]})
    assert u.status_code == 201
    from tests.blur_helpers import run_blur_jobs

    run_blur_jobs()  # a resident gets the update's photo blurred (issue #19), once it is
    shown = client.get(f"{API}/ideas/{winner}/implementation", headers=h["zhao_liu"]).json
    photo = shown["milestones"][0]["updates"][0]["photos"][0]
    r = client.get(photo["thumbnail_url"], headers=h["zhao_liu"])
    assert r.status_code == 200 and r.data[:2] == b"\xff\xd8" and "display_key" not in photo
    done = client.post(f"{API}/ideas/{winner}/implementation/status", json={"status": "completed"},
                       headers=h["pc_sm_sun"]).json
    assert done["status"] == "completed" and done["milestones"][0]["progress"] == 100
    drain()
    for who in ("zhang_san", "zhao_liu", "sun_qi", "wang_wu", "li_si"):
        kinds = [n["kind"] for n in client.get(f"{API}/me/notifications?limit=50", headers=h[who]).json["items"]]
        assert kinds.count("implementation_status") == 2 and "idea_adopted" in kinds, (who, kinds)
    wang = [n["kind"] for n in client.get(f"{API}/me/notifications?limit=50", headers=h["wang_wu"]).json["items"]]
    assert {"moderation_hide", "appeal_overturned"} <= set(wang)
