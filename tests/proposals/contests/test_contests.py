"""金点子 contests through the API: phases, ideas, support, jury, ranking, carrying out, lists."""

from __future__ import annotations

import io

import sqlalchemy as sa

from civic.core.notifications import Notification
from civic.extensions import db
from civic.proposals.contests.models import SupportEvent
from tests.jobs import drain

API = "/api/v1"


def test_contest_shows_phase_and_allowed_actions(world):
    c = world.contest("support")
    assert c["phase"] == "support"
    assert "support" in c["allowed_actions"] and "submit" not in c["allowed_actions"]
    assert [x["name"] for x in c["criteria"]] == ["创新性", "可行性"]


def test_contest_organiser_must_be_residents_committee_or_street_centre(world, factory):
    pc = factory.org("property_company", [world.ladder["compound"]])
    boss = factory.staff(pc, "head")
    body = {"organisation_id": pc.id, "theme": "x", "place_ids": [world.ladder["compound"].id],
            "phases": world.contest()["phases"], "criteria": [{"name": "可行性", "weight": 1}]}
    r = world.client.post(f"{API}/contests", json=body, headers=factory.token(boss))
    assert r.status_code == 422 and r.json["error"]["code"] == "organiser_kind_invalid"


def test_submission_outside_submission_phase_is_refused(world):
    c = world.contest("support")
    r = world.client.post(f"{API}/contests/{c['id']}/ideas", headers=world.h[world.author],
                          json={"title": "口袋花园", "text": "种花", "category": "绿化"})
    assert r.status_code == 409, r.json
    assert r.json["error"]["code"] == "phase_forbids_action"
    assert r.json["error"]["details"]["allowed_in"] == ["submission"]


def test_resident_outside_the_contest_places_cannot_submit(world):
    c = world.contest()
    r = world.client.post(f"{API}/contests/{c['id']}/ideas", headers=world.h[world.outsider],
                          json={"title": "口袋花园", "text": "种花", "category": "绿化"})
    assert r.status_code == 403 and r.json["error"]["code"] == "not_a_participant"


def test_idea_text_over_2000_characters_is_refused(world):
    c = world.contest()
    r = world.client.post(f"{API}/contests/{c['id']}/ideas", headers=world.h[world.author],
                          json={"title": "口袋花园", "text": "绿" * 2001, "category": "绿化"})
    assert r.status_code == 422 and r.json["error"]["details"] == {"field": "text", "max": 2000, "length": 2001}


def test_idea_with_real_photos_is_pending_until_approved(world, shared_dir):
    c = world.contest()
    files = [(io.BytesIO((shared_dir / "photos" / n).read_bytes()), n) for n in ("ianare_portrait_6.jpg", "pillow_pil123rgba.png")]
    up = world.client.post(f"{API}/contest-photos", data={"photos": files}, headers=world.h[world.author],
                           content_type="multipart/form-data")
    assert up.status_code == 201
    keys = [p["display_key"] for p in up.json["items"]]
    assert up.json["items"][0]["width"] == 450 and up.json["items"][0]["height"] == 600  # turned upright
    r = world.client.post(f"{API}/contests/{c['id']}/ideas", headers=world.h[world.author],
                          json={"title": "  口袋花园 ", "text": "建议　种植月季\r\n和绣球", "category": "绿化",
                                "photos": keys})
    assert r.status_code == 201
    assert (r.json["title"], r.json["text"], r.json["state"]) == ("口袋花园", "建议 种植月季\n和绣球", "pending")
    assert [(p["width"], p["height"]) for p in r.json["photos"]] == [
        (p["width"], p["height"]) for p in up.json["items"]]
    assert all(p["url"].startswith("/api/v1/contest-photos/") and "display_key" not in p for p in r.json["photos"])
    listed = world.client.get(f"{API}/contests/{c['id']}/ideas", headers=world.h[world.neighbour]).json["items"]
    assert listed == []
    world.client.post(f"{API}/moderation/idea/{r.json['id']}/decisions", json={"action": "approve"},
                      headers=world.h[world.mod])
    listed = world.client.get(f"{API}/contests/{c['id']}/ideas", headers=world.h[world.neighbour]).json["items"]
    assert [i["id"] for i in listed] == [r.json["id"]]


def test_photo_uploaded_by_someone_else_cannot_be_claimed(world, shared_dir):
    c = world.contest()
    up = world.client.post(f"{API}/contest-photos", headers=world.h[world.neighbour],
                           data={"photos": [(io.BytesIO((shared_dir / "photos" / "ianare_landscape_3.jpg").read_bytes()), "a.jpg")]},
                           content_type="multipart/form-data")
    r = world.client.post(f"{API}/contests/{c['id']}/ideas", headers=world.h[world.author],
                          json={"title": "口袋花园", "text": "种花", "category": "绿化",
                                "photos": [up.json["items"][0]["display_key"]]})
    assert r.status_code == 422 and r.json["error"]["code"] == "photo_unknown"


def test_author_edit_keeps_versions_and_is_refused_after_submission(world):
    c = world.contest()
    idea = world.idea(c["id"])
    r = world.client.patch(f"{API}/ideas/{idea['id']}", json={"title": "口袋花园（修改）"}, headers=world.h[world.author])
    assert r.status_code == 200 and r.json["version"] == 2
    versions = world.client.get(f"{API}/ideas/{idea['id']}/versions", headers=world.h[world.author]).json["items"]
    assert [v["content"]["title"] for v in versions] == ["楼前空地改造口袋花园", "口袋花园（修改）"]
    world.set_phase(c["id"], "support")
    r = world.client.patch(f"{API}/ideas/{idea['id']}", json={"title": "再改"}, headers=world.h[world.author])
    assert r.status_code == 409 and r.json["error"]["code"] == "phase_forbids_action"


def test_only_the_author_edits(world):
    c = world.contest()
    idea = world.idea(c["id"])
    r = world.client.patch(f"{API}/ideas/{idea['id']}", json={"title": "改"}, headers=world.h[world.housemate])
    assert r.status_code == 403 and r.json["error"]["code"] == "not_author"


def test_support_once_withdraw_and_support_again_counts_exactly(world):
    c = world.contest("support")
    world.set_phase(c["id"], "submission")
    idea = world.idea(c["id"])
    world.set_phase(c["id"], "support")
    url = f"{API}/ideas/{idea['id']}/support"
    counts = []
    for user, method in [(world.neighbour, "put"), (world.neighbour, "put"), (world.housemate, "put"),
                         (world.neighbour, "delete"), (world.neighbour, "delete"), (world.neighbour, "put")]:
        r = getattr(world.client, method)(url, headers=world.h[user])
        assert r.status_code == 200, r.json
        counts.append((r.json["support_count"], r.json["changed"]))
    assert counts == [(1, True), (1, False), (2, True), (1, True), (1, False), (2, True)]
    events = db.session.scalars(sa.select(SupportEvent.action).order_by(SupportEvent.id)).all()
    assert events == ["support", "support", "withdraw", "support"]  # withdrawals are soft: nothing deleted


def test_support_outside_support_phase_is_refused(world):
    c = world.contest()
    idea = world.idea(c["id"])
    r = world.client.put(f"{API}/ideas/{idea['id']}/support", headers=world.h[world.neighbour])
    assert r.status_code == 409 and r.json["error"]["details"]["allowed_in"] == ["support"]


def test_support_from_outside_the_contest_places_is_refused(world):
    c = world.contest()
    idea = world.idea(c["id"])
    world.set_phase(c["id"], "support")
    r = world.client.put(f"{API}/ideas/{idea['id']}/support", headers=world.h[world.outsider])
    assert r.status_code == 403 and r.json["error"]["code"] == "not_a_participant"


def test_support_cap_per_resident_per_contest(world):
    c = world.contest(support_cap=2)
    ideas = [world.idea(c["id"], title=f"点子{i}") for i in range(3)]
    world.set_phase(c["id"], "support")
    codes = [world.client.put(f"{API}/ideas/{i['id']}/support", headers=world.h[world.neighbour]).status_code
             for i in ideas]
    assert codes == [200, 200, 409]
    world.client.delete(f"{API}/ideas/{ideas[0]['id']}/support", headers=world.h[world.neighbour])
    r = world.client.put(f"{API}/ideas/{ideas[2]['id']}/support", headers=world.h[world.neighbour])
    assert r.status_code == 200 and r.json["support_count"] == 1


def test_support_records_ip_and_device_and_moderators_see_shared_device(world):
    c = world.contest()
    idea = world.idea(c["id"])
    world.set_phase(c["id"], "support")
    for u in [world.neighbour, *world.others]:
        world.client.put(f"{API}/ideas/{idea['id']}/support", headers={**world.h[u], "X-Device-Id": "dev-abc"},
                         environ_base={"REMOTE_ADDR": "10.1.2.3"})
    ev = db.session.scalars(sa.select(SupportEvent)).all()
    assert {(e.ip, e.device_id) for e in ev} == {("10.1.2.3", "dev-abc")}
    sig = world.client.get(f"{API}/contests/{c['id']}/signals", headers=world.h[world.mod]).json["items"]
    kinds = {(s["kind"], s["key"], s["residents"]) for s in sig}
    assert ("shared_device", "dev-abc", 4) in kinds and ("shared_network", "10.1.2.3", 4) in kinds
    # brand-new accounts supporting together is a burst only from five on
    assert not any(s["kind"] == "new_account_burst" for s in sig)


def test_juror_from_the_authors_household_is_refused(world):
    c = world.contest()
    idea = world.idea(c["id"])
    for u in (world.housemate, world.head):
        world.client.post(f"{API}/contests/{c['id']}/jurors", json={"user_id": u.id}, headers=world.h[world.head])
    world.set_phase(c["id"], "review")
    crit = [x["id"] for x in c["criteria"]]
    r = world.client.put(f"{API}/ideas/{idea['id']}/scores", json={"scores": {str(crit[0]): 8, str(crit[1]): 6}},
                         headers=world.h[world.housemate])
    assert r.status_code == 403 and r.json["error"]["code"] == "juror_conflict"
    r = world.client.put(f"{API}/ideas/{idea['id']}/scores", json={"scores": {str(crit[0]): 8, str(crit[1]): 6}},
                         headers=world.h[world.head])
    assert r.status_code == 200


def test_scores_must_cover_every_criterion_within_0_to_10(world):
    c = world.contest()
    idea = world.idea(c["id"])
    world.client.post(f"{API}/contests/{c['id']}/jurors", json={"user_id": world.head.id}, headers=world.h[world.head])
    world.set_phase(c["id"], "review")
    crit = [x["id"] for x in c["criteria"]]
    r = world.client.put(f"{API}/ideas/{idea['id']}/scores", json={"scores": {str(crit[0]): 8}},
                         headers=world.h[world.head])
    assert r.status_code == 422 and r.json["error"]["code"] == "scores_incomplete"
    r = world.client.put(f"{API}/ideas/{idea['id']}/scores", json={"scores": {str(crit[0]): 8, str(crit[1]): 11}},
                         headers=world.h[world.head])
    assert r.status_code == 422 and r.json["error"]["code"] == "score_out_of_range"
    for fractional in (7.5, "8", True):  # not an integer score: refused, never cut to 7
        r = world.client.put(f"{API}/ideas/{idea['id']}/scores",
                             json={"scores": {str(crit[0]): 8, str(crit[1]): fractional}}, headers=world.h[world.head])
        assert r.status_code == 422 and r.json["error"]["code"] == "validation_failed", fractional


def test_ranking_combines_support_and_jury_with_breakdown(world):
    c = world.contest(support_weight=40, jury_weight=60)
    a = world.idea(c["id"], title="点子甲")
    b = world.idea(c["id"], title="点子乙")
    world.set_phase(c["id"], "support")
    for u in [world.neighbour, *world.others]:
        world.client.put(f"{API}/ideas/{a['id']}/support", headers=world.h[u])
    world.client.put(f"{API}/ideas/{b['id']}/support", headers=world.h[world.neighbour])
    world.client.post(f"{API}/contests/{c['id']}/jurors", json={"user_id": world.head.id}, headers=world.h[world.head])
    world.set_phase(c["id"], "review")
    c1, c2 = [x["id"] for x in c["criteria"]]  # weights 1 and 3
    world.client.put(f"{API}/ideas/{a['id']}/scores", json={"scores": {str(c1): 2, str(c2): 4}},
                     headers=world.h[world.head])  # (2 + 12) / 4 = 3.5
    world.client.put(f"{API}/ideas/{b['id']}/scores", json={"scores": {str(c1): 10, str(c2): 10}},
                     headers=world.h[world.head])  # 10
    world.set_phase(c["id"], "results")
    r = world.client.post(f"{API}/contests/{c['id']}/ranking", headers=world.h[world.head])
    assert r.status_code == 201
    rows = [(x["idea_id"], x["support_score"], x["jury_mean"], x["final_score"]) for x in r.json["items"]]
    # b: 0.4·(1/4) + 0.6·1 = 0.7; a: 0.4·1 + 0.6·0.35 = 0.61
    assert rows == [(b["id"], "0.250000", "10.000000", "0.700000"), (a["id"], "1.000000", "3.500000", "0.610000")]
    again = world.client.post(f"{API}/contests/{c['id']}/ranking", headers=world.h[world.head])
    assert again.status_code == 409 and again.json["error"]["code"] == "ranking_already_published"


def test_adoption_status_change_notifies_author_and_supporters_once(world, caplog):
    c = world.contest()
    idea = world.idea(c["id"])
    world.set_phase(c["id"], "support")
    world.client.put(f"{API}/ideas/{idea['id']}/support", headers=world.h[world.neighbour])
    world.set_phase(c["id"], "results")
    world.client.post(f"{API}/contests/{c['id']}/ranking", headers=world.h[world.head])
    r = world.client.post(f"{API}/ideas/{idea['id']}/adopt", json={"organisation_id": world.rc.id},
                          headers=world.h[world.head])
    assert r.status_code == 201 and r.json["status"] == "adopted"
    world.set_phase(c["id"], "implementation")
    r = world.client.post(f"{API}/ideas/{idea['id']}/implementation/status", json={"status": "in_progress"},
                          headers=world.h[world.head])
    assert r.status_code == 200
    drain()
    for user in (world.author, world.neighbour):
        kinds = [n["kind"] for n in world.notifications(user)]
        assert kinds.count("implementation_status") == 1 and kinds.count("idea_adopted") == 1
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.sent_at.is_(None))) == 0


def test_send_job_run_again_sends_nothing_twice(world, app, caplog):
    from civic.core.db import commit
    from civic.core.notifications import send_notification
    from civic.proposals.notify import notify

    ids = notify([world.author.id, world.neighbour.id], kind="test", subject_type="idea", subject_id=1,
                 title="标题", body="内容")
    db.session.info.pop("after_commit", None)  # send by hand below, not after commit
    commit()
    with caplog.at_level("INFO", logger="civic.core.notifications"):
        first = [send_notification(i) for i in ids]
        second = [send_notification(i) for i in ids]
    assert first == ["sent", "sent"] and second == ["sent", "sent"]
    assert sum("DEV NOTIFY" in m for m in caplog.messages) == 2


def test_invalid_implementation_transition_is_refused(world):
    c = world.contest()
    idea = world.idea(c["id"])
    world.set_phase(c["id"], "results")
    world.client.post(f"{API}/contests/{c['id']}/ranking", headers=world.h[world.head])
    world.client.post(f"{API}/ideas/{idea['id']}/adopt", json={"organisation_id": world.rc.id}, headers=world.h[world.head])
    world.set_phase(c["id"], "implementation")
    r = world.client.post(f"{API}/ideas/{idea['id']}/implementation/status", json={"status": "completed"},
                          headers=world.h[world.head])
    assert r.status_code == 409 and r.json["error"]["details"]["allowed"] == ["in_progress", "suspended"]


def test_lists_newest_and_most_supported(world):
    c = world.contest()
    ids = [world.idea(c["id"], title=f"点子{i}")["id"] for i in range(3)]
    world.set_phase(c["id"], "support")
    for u in (world.neighbour, world.housemate):
        world.client.put(f"{API}/ideas/{ids[1]}/support", headers=world.h[u])
    world.client.put(f"{API}/ideas/{ids[0]}/support", headers=world.h[world.neighbour])
    get = lambda s: [i["id"] for i in world.client.get(f"{API}/contests/{c['id']}/ideas?sort={s}",  # noqa: E731
                                                       headers=world.h[world.neighbour]).json["items"]]
    assert get("supported") == [ids[1], ids[0], ids[2]]
    assert get("newest") == [ids[2], ids[1], ids[0]]


def test_shuffled_order_is_stable_per_resident_and_pages_cover_every_idea_once(world):
    c = world.contest()
    ids = {world.idea(c["id"], title=f"点子{i}")["id"] for i in range(7)}

    def walk(user):
        out, cursor = [], None
        while True:
            q = f"{API}/contests/{c['id']}/ideas?sort=shuffle&limit=3" + (f"&cursor={cursor}" if cursor else "")
            page = world.client.get(q, headers=world.h[user]).json
            out += [i["id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                return out

    first = walk(world.neighbour)
    assert sorted(first) == sorted(ids) and len(first) == 7
    assert walk(world.neighbour) == first
    others = [walk(u) for u in world.others]
    assert any(o != first for o in others)


def test_chinese_search_matches_tokens(world):
    c = world.contest()
    a = world.idea(c["id"], title="垃圾房周边种植爬藤", text="垃圾房外墙种植爬山虎遮挡")
    world.idea(c["id"], title="增设儿童游乐设施", text="在中心花园增加滑梯和秋千")
    r = world.client.get(f"{API}/contests/{c['id']}/ideas", query_string={"q": "垃圾房"},
                         headers=world.h[world.neighbour])
    assert [i["id"] for i in r.json["items"]] == [a["id"]]


def test_my_ideas_and_supports(world):
    c = world.contest()
    a = world.idea(c["id"])
    world.set_phase(c["id"], "support")
    world.client.put(f"{API}/ideas/{a['id']}/support", headers=world.h[world.neighbour])
    mine = world.client.get(f"{API}/me/ideas", headers=world.h[world.author]).json["items"]
    sup = world.client.get(f"{API}/me/supports", headers=world.h[world.neighbour]).json["items"]
    assert [i["id"] for i in mine] == [a["id"]] and [s["idea_id"] for s in sup] == [a["id"]]
