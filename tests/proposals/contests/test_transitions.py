"""State changes of contests and ideas are exclusive (one of two requests acting at once wins, the
other gets a 409), a published ranking cannot be undone by moving the schedule back, criteria names
are distinct, adopted ideas go to an organisation covering the idea's place, and fractional
scores or progress are refused.

The races are shown deterministically: the request's session holds a row as it was, another session
changes it and commits, then the request acts on what it read (this is what happens on SQLite, where
``SELECT ... FOR UPDATE`` locks nothing, with two gunicorn workers)."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from civic.accounts.models import User
from civic.core.db import commit
from civic.extensions import db
from civic.proposals import moderation
from civic.proposals.contests import service
from civic.proposals.contests.models import Contest, Implementation, Milestone
from civic.proposals.contests.service import implementation
from civic.proposals.moderation import service as moderation_rules
from civic.proposals.moderation.models import ModeratedItem, ModerationDecision
from tests.proposals.conftest import phases_at

API = "/api/v1"


def _elsewhere(app, fn):
    """Run ``fn()`` in another app context (its own session) and commit: another request."""
    with app.app_context():
        try:
            out = fn()
            commit()
            return out
        finally:
            db.session.rollback()
            db.session.remove()


def _meanwhile(app, monkeypatch, module, name, fn) -> dict:
    """Patch ``module.name`` so that its first call (in the middle of a request, after the request has
    read the item) first runs ``fn()`` as another request.  Returns ``{"other": "done" | "locked"}``:
    on PostgreSQL the request holds the row (``SELECT ... FOR UPDATE``), so the other request waits
    and gives up after half a second ("locked"); on SQLite nothing is locked and it commits ("done"),
    as a second gunicorn worker would."""
    original, outcome = getattr(module, name), {}

    def run():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("SET LOCAL lock_timeout = '500ms'"))
        fn()

    def patched(*args, **kwargs):
        if not outcome:
            outcome["other"] = "running"  # the other request calls this too: once only
            try:
                _elsewhere(app, run)
                outcome["other"] = "done"
            except sa.exc.OperationalError:
                outcome["other"] = "locked"
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, patched)
    return outcome


def _decisions(idea_id: int) -> list[tuple[str, str, str]]:
    db.session.expire_all()
    return [(d.action, d.from_state, d.to_state) for d in db.session.scalars(
        sa.select(ModerationDecision).join(ModeratedItem, ModeratedItem.id == ModerationDecision.moderated_item_id)
        .where(ModeratedItem.item_type == "idea", ModeratedItem.item_id == idea_id).order_by(ModerationDecision.id))]


# --- 1. races -------------------------------------------------------------------------------------

def test_a_moderation_decision_made_meanwhile_makes_the_second_approval_a_409(world, app, monkeypatch):
    c = world.contest()
    idea = world.idea(c["id"], approve=False)
    second = world.staff(world.rc, "moderator")
    # The other moderator approves after this request read the item as pending, before it writes.
    outcome = _meanwhile(app, monkeypatch, moderation_rules, "_open_appeal",
                         lambda: moderation.decide(db.session.get(User, second.id), "idea", idea["id"], "approve"))
    r = world.client.post(f"{API}/moderation/idea/{idea['id']}/decisions", json={"action": "approve"},
                          headers=world.h[world.mod])
    if outcome["other"] == "done":  # SQLite: the version moved on under this request
        assert r.status_code == 409, r.json
        assert r.json["error"]["code"] == "moderation_changed"
    else:  # PostgreSQL: the row lock kept the other out
        assert outcome["other"] == "locked" and r.status_code == 200, r.json
    assert _decisions(idea["id"]) == [("approve", "pending", "approved")]


def test_eight_parallel_approvals_one_wins(world, app, factory):
    c = world.contest()
    idea = world.idea(c["id"], approve=False)
    mods = [world.staff(world.rc, "moderator") for _ in range(7)]
    heads = [world.h[world.mod], *(factory.token(m) for m in mods)]

    def approve(hd):
        with app.app_context():
            return app.test_client().post(f"{API}/moderation/idea/{idea['id']}/decisions",
                                          json={"action": "approve"}, headers=hd).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = sorted(pool.map(approve, heads))
    assert codes == [200] + [409] * 7
    assert _decisions(idea["id"]) == [("approve", "pending", "approved")]


def test_an_appeal_decided_meanwhile_is_not_decided_twice(world, app, monkeypatch):
    c = world.contest()
    idea = world.idea(c["id"])
    world.client.post(f"{API}/moderation/idea/{idea['id']}/decisions", json={"action": "reject", "reason": "重复"},
                      headers=world.h[world.mod])
    world.client.post(f"{API}/moderation/idea/{idea['id']}/appeal", json={"text": "并不重复"},
                      headers=world.h[world.author])
    other = world.staff(world.rc, "moderator")
    outcome = _meanwhile(app, monkeypatch, moderation_rules, "_same_moderator", lambda: moderation.decide_appeal(
        db.session.get(User, other.id), "idea", idea["id"], "upheld"))
    r = world.client.post(f"{API}/moderation/idea/{idea['id']}/appeal/decision", json={"outcome": "overturned"},
                          headers=world.h[world.head])
    db.session.expire_all()
    if outcome["other"] == "done":
        assert r.status_code == 409 and r.json["error"]["code"] == "moderation_changed", r.json
        assert moderation.state_of("idea", idea["id"]).state == "rejected"
    else:
        assert r.status_code == 200 and moderation.state_of("idea", idea["id"]).state == "approved", r.json
    expected = [("approve", "pending", "approved"), ("reject", "approved", "rejected")]
    if outcome["other"] != "done":
        expected.append(("appeal_overturned", "rejected", "approved"))
    assert _decisions(idea["id"]) == expected


def test_ranking_published_meanwhile_is_not_published_twice(world, app):
    c = world.contest("results")  # no approved idea: nothing in the ranking for a unique key to catch
    held = db.session.get(Contest, c["id"])  # this request read it unpublished
    assert held.ranking_published_at is None
    _elsewhere(app, lambda: service.publish_ranking(db.session.get(User, world.head.id), c["id"]))
    r = world.client.post(f"{API}/contests/{c['id']}/ranking", headers=world.h[world.head])
    assert r.status_code == 409, r.json
    assert r.json["error"]["code"] == "ranking_already_published"


def test_a_schedule_change_racing_the_publication_is_refused(world, app):
    c = world.contest("results")
    held = db.session.get(Contest, c["id"])  # read before the ranking was published
    assert held.ranking_published_at is None
    _elsewhere(app, lambda: service.publish_ranking(db.session.get(User, world.head.id), c["id"]))
    r = world.client.put(f"{API}/contests/{c['id']}/schedule", json={"phases": phases_at("results")},
                         headers=world.h[world.head])
    assert r.status_code == 409, r.json
    assert r.json["error"]["code"] == "contest_changed"


def _adopted(world, c):
    idea = world.idea(c["id"])
    world.set_phase(c["id"], "results")
    world.client.post(f"{API}/contests/{c['id']}/ranking", headers=world.h[world.head])
    r = world.client.post(f"{API}/ideas/{idea['id']}/adopt", json={"organisation_id": world.rc.id},
                          headers=world.h[world.head])
    assert r.status_code == 201, r.json
    world.set_phase(c["id"], "implementation")
    return idea


def test_implementation_status_changed_meanwhile_is_a_409(world, app):
    c = world.contest()
    idea = _adopted(world, c)
    impl = db.session.scalar(sa.select(Implementation).where(Implementation.idea_id == idea["id"]))
    assert impl.status == "adopted"
    _elsewhere(app, lambda: service.set_implementation_status(db.session.get(User, world.head.id), idea["id"],
                                                              "in_progress"))
    r = world.client.post(f"{API}/ideas/{idea['id']}/implementation/status", json={"status": "in_progress"},
                          headers=world.h[world.head])
    assert r.status_code == 409, r.json
    assert r.json["error"]["code"] == "implementation_changed"


def test_progress_reported_meanwhile_is_not_overwritten_backwards(world, app):
    c = world.contest()
    idea = _adopted(world, c)
    m = world.client.post(f"{API}/ideas/{idea['id']}/milestones", json={"title": "铺设步道"},
                          headers=world.h[world.head]).json
    held = db.session.get(Milestone, m["id"])  # this request read progress 0
    assert held.progress == 0
    _elsewhere(app, lambda: service.update_milestone(db.session.get(User, world.head.id), m["id"], 50))
    r = world.client.post(f"{API}/milestones/{m['id']}/updates", json={"progress": 30},
                          headers=world.h[world.head])
    assert r.status_code == 409, r.json
    assert r.json["error"]["code"] == "milestone_changed"
    db.session.expire_all()
    assert db.session.get(Milestone, m["id"]).progress == 50


def test_a_second_adoption_is_already_adopted_even_when_the_check_missed_it(world, app, monkeypatch):
    c = world.contest()
    idea = world.idea(c["id"])
    world.set_phase(c["id"], "results")
    world.client.post(f"{API}/contests/{c['id']}/ranking", headers=world.h[world.head])
    assert world.client.post(f"{API}/ideas/{idea['id']}/adopt", json={"organisation_id": world.rc.id},
                             headers=world.h[world.head]).status_code == 201
    # A request that checked before the first committed: only the unique key stands in its way.
    monkeypatch.setattr(implementation, "_adopted_already", lambda idea_id: False)
    r = world.client.post(f"{API}/ideas/{idea['id']}/adopt", json={"organisation_id": world.rc.id},
                          headers=world.h[world.head])
    assert r.status_code == 409 and r.json["error"]["code"] == "already_adopted", r.json


# --- 2. the schedule never reopens a phase once review began ------------------------------------------

def test_schedule_cannot_reopen_submission_after_the_ranking_was_published(world):
    c = world.contest()
    world.idea(c["id"])
    world.set_phase(c["id"], "results")
    assert world.client.post(f"{API}/contests/{c['id']}/ranking", headers=world.h[world.head]).status_code == 201
    r = world.client.put(f"{API}/contests/{c['id']}/schedule", json={"phases": phases_at("submission")},
                         headers=world.h[world.head])
    assert r.status_code == 409, r.json
    assert r.json["error"]["code"] == "schedule_reopens_phase"
    assert r.json["error"]["details"] == {"phase": "results", "new_phase": "submission", "ranking_published": True}
    assert "排名已公布" in r.json["error"]["message"]
    late = world.client.post(f"{API}/contests/{c['id']}/ideas", headers=world.h[world.neighbour],
                             json={"title": "增设晾衣架", "text": "建议在空地增设公共晾衣架。", "category": "绿化"})
    assert late.status_code == 409 and late.json["error"]["code"] == "phase_forbids_action"
    # Going on is fine.
    world.set_phase(c["id"], "implementation")


def test_schedule_cannot_go_back_to_support_once_review_began(world):
    c = world.contest("review")
    r = world.client.put(f"{API}/contests/{c['id']}/schedule", json={"phases": phases_at("support")},
                         headers=world.h[world.head])
    assert r.status_code == 409 and r.json["error"]["code"] == "schedule_reopens_phase", r.json
    assert "评审已开始" in r.json["error"]["message"]
    assert world.client.get(f"{API}/contests/{c['id']}", headers=world.h[world.head]).json["phase"] == "review"
    # Before review, an organiser may still put submission back (e.g. after closing it by mistake).
    c2 = world.contest("support")
    world.set_phase(c2["id"], "submission")


def test_after_the_implementation_ended_it_is_not_reopened(world):
    c = world.contest("implementation")
    ended = phases_at("implementation")  # implementation started an hour ago: let it end half an hour ago
    start = dt.datetime.fromisoformat(ended["implementation"]["starts_at"])
    ended["implementation"]["ends_at"] = (start + dt.timedelta(minutes=30)).isoformat()
    r = world.client.put(f"{API}/contests/{c['id']}/schedule", json={"phases": ended}, headers=world.h[world.head])
    assert r.status_code == 200 and r.json["phase"] == "closed", r.json
    r = world.client.put(f"{API}/contests/{c['id']}/schedule", json={"phases": phases_at("implementation")},
                         headers=world.h[world.head])
    assert r.status_code == 409 and r.json["error"]["details"]["new_phase"] == "implementation", r.json


# --- 3. criteria names -------------------------------------------------------------------------------

def test_duplicate_criterion_names_are_a_422_naming_the_duplicate(world):
    body = {"organisation_id": world.rc.id, "theme": "绿化提升金点子", "place_ids": [world.ladder["compound"].id],
            "phases": phases_at("submission"),
            "criteria": [{"name": "可行性", "weight": 1}, {"name": "创新性", "weight": 1},
                         {"name": " 可行性 ", "weight": 2}]}
    r = world.client.post(f"{API}/contests", json=body, headers=world.h[world.head])
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "criteria_duplicate"
    assert r.json["error"]["details"] == {"field": "criteria", "name": "可行性", "index": 2}
    assert "可行性" in r.json["error"]["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Contest)) == 0


# --- 4. adoption by an organisation that covers the idea's place -----------------------------------

def test_adoption_by_an_organisation_not_covering_the_ideas_compound_is_refused(world, factory):
    c = world.contest()
    idea = world.idea(c["id"])
    world.set_phase(c["id"], "results")
    world.client.post(f"{API}/contests/{c['id']}/ranking", headers=world.h[world.head])
    far = factory.org("property_company", [factory.ladder()["compound"]], name="康城物业")
    r = world.client.post(f"{API}/ideas/{idea['id']}/adopt", json={"organisation_id": far.id},
                          headers=world.h[world.head])
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "organisation_out_of_scope"
    assert r.json["error"]["details"]["organisation_id"] == far.id
    assert "康城物业" in r.json["error"]["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Implementation)) == 0
    near = factory.org("property_company", [world.ladder["compound"]], name="滨江物业")
    r = world.client.post(f"{API}/ideas/{idea['id']}/adopt", json={"organisation_id": near.id},
                          headers=world.h[world.head])
    assert r.status_code == 201 and r.json["organisation_id"] == near.id, r.json


# --- 5. integers ---------------------------------------------------------------------------------

def test_fractional_scores_and_progress_are_422(world, factory):
    c = world.contest()
    idea = world.idea(c["id"])
    juror = factory.resident(units=[factory.ladder()["units"][0]])
    world.client.post(f"{API}/contests/{c['id']}/jurors", json={"user_id": juror.id}, headers=world.h[world.head])
    world.set_phase(c["id"], "review")
    crit = [x["id"] for x in c["criteria"]]
    r = world.client.put(f"{API}/ideas/{idea['id']}/scores", json={"scores": {str(crit[0]): 5.5, str(crit[1]): 7}},
                         headers=factory.token(juror))
    assert r.status_code == 422 and r.json["error"]["code"] == "validation_failed", r.json
    ok = world.client.put(f"{API}/ideas/{idea['id']}/scores", json={"scores": {str(crit[0]): 5, str(crit[1]): 7}},
                          headers=factory.token(juror))
    assert ok.status_code == 200 and sorted(s["value"] for s in ok.json["items"]) == [5, 7]
    world.set_phase(c["id"], "results")
    world.client.post(f"{API}/contests/{c['id']}/ranking", headers=world.h[world.head])
    world.client.post(f"{API}/ideas/{idea['id']}/adopt", json={"organisation_id": world.rc.id},
                      headers=world.h[world.head])
    world.set_phase(c["id"], "implementation")
    m = world.client.post(f"{API}/ideas/{idea['id']}/milestones", json={"title": "铺设步道"},
                          headers=world.h[world.head]).json
    r = world.client.post(f"{API}/milestones/{m['id']}/updates", json={"progress": 10.7}, headers=world.h[world.head])
    assert r.status_code == 422 and r.json["error"]["code"] == "validation_failed", r.json
    assert db.session.get(Milestone, m["id"]).progress == 0
    assert world.client.post(f"{API}/milestones/{m['id']}/updates", json={"progress": 10},
                             headers=world.h[world.head]).json["progress"] == 10

