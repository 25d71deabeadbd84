"""Two people acting on one disclosure at once (two gunicorn workers): exactly one wins, the other
gets a 409 ``disclosure_changed`` and nothing is half-written (no published_at on a returned row, no
second sign-off or publication in the audit log).

The deterministic tests play the second worker in an app context of its own (its own session and
connection) between this worker's read and its write: the row this request holds is then stale, as
it is when two requests run at once.  The thread tests at the end fire real parallel requests.
"""

from __future__ import annotations

import contextlib
import threading

import pytest
import sqlalchemy as sa

from civic.core.db import commit
from civic.extensions import db
from tests.village.conftest import finance_body

CHANGED = "该公开事项刚被他人处理，本次操作未执行，请刷新后查看当前状态"


@contextlib.contextmanager
def other_worker(app):
    """Another worker: its own app context, so its own session and connection; committed at the end."""
    with app.app_context():
        yield
        commit()


def _act(client, vil, did, action, who, note=None):
    body = {"action": action} if note is None else {"action": action, "note": note}
    return client.post(f"/api/v1/village-disclosures/{did}/transitions", json=body, headers=vil[who])


def _draft(client, vil, *actions):
    r = client.post("/api/v1/villages/V-T/disclosures", json=finance_body(), headers=vil["h_hua"])
    assert r.status_code == 201, r.json
    did = r.json["id"]
    who = {"submit": "h_hua", "sign_off": "h_jin", "publish": "h_hua"}
    for action in actions:
        assert _act(client, vil, did, action, who[action]).status_code == 200
    return did


def _service_act(did, action, user_id, note=None):
    """Run a transition through the service in the current (other worker's) session."""
    from civic.accounts.models import User
    from civic.village import service
    from civic.village.models import Disclosure

    return service.transition(db.session.get(Disclosure, did), action, db.session.get(User, user_id), note)


def _actions(did):
    from civic.core.audit import entries_for

    return [e.action for e in entries_for("village_disclosure", did)]


def _fresh(did):
    from civic.village.models import Disclosure

    db.session.expire_all()
    return db.session.get(Disclosure, did)


def _stale(did):
    """This worker reads the disclosure; the caller keeps the object, so that it stays in the session's
    identity map (held weakly) and the next request acts on this stale copy."""
    from civic.village.models import Disclosure

    return db.session.get(Disclosure, did)


def _refused(r):
    assert r.status_code == 409, r.json
    assert r.json["error"]["code"] == "disclosure_changed"
    assert r.json["error"]["message"] == CHANGED


def test_return_loses_to_a_publish_that_came_first(app, client, vil):
    did = _draft(client, vil, "submit", "sign_off")
    hua, jin = vil["hua"].id, vil["jin"].id
    held = _stale(did)
    assert held.status == "signed_off"
    with other_worker(app):
        _service_act(did, "publish", hua)
    _refused(_act(client, vil, did, "return", "h_jin", note="撤回签字"))
    d = _fresh(did)
    assert (d.status, d.signed_off_by_id) == ("published", jin)
    assert d.published_at is not None and d.content_hash is not None and d.review_note is None
    assert _actions(did) == ["disclosure.create", "disclosure.submit", "disclosure.sign_off", "disclosure.publish"]
    assert client.get(f"/villages/V-T/disclosures/{did}").status_code == 200


def test_publish_loses_to_a_return_that_came_first(app, client, vil):
    """The tester's case: the committee must not be told "published" for a returned disclosure."""
    did = _draft(client, vil, "submit", "sign_off")
    jin = vil["jin"].id
    held = _stale(did)
    assert held.status == "signed_off"
    with other_worker(app):
        _service_act(did, "return", jin, "撤回签字")
    _refused(_act(client, vil, did, "publish", "h_hua"))
    d = _fresh(did)
    assert (d.status, d.published_at, d.signed_off_by_id, d.content_hash, d.review_note) == (
        "returned", None, None, None, "撤回签字")
    assert _actions(did) == ["disclosure.create", "disclosure.submit", "disclosure.sign_off", "disclosure.return"]
    assert client.get(f"/villages/V-T/disclosures/{did}").status_code == 404


def test_a_second_sign_off_is_refused(app, client, vil):
    from civic.accounts.service import create_staff
    from tests.village.conftest import _HASH

    did = _draft(client, vil, "submit")
    second = create_staff(username="jin2", password_hash=_HASH, display_name="监委委员",
                          memberships=[(vil["vs"], "handler")])
    commit()
    second_id = second.id
    held = _stale(did)
    assert held.status == "submitted"
    with other_worker(app):
        _service_act(did, "sign_off", second_id, "核对无误")
    _refused(_act(client, vil, did, "sign_off", "h_jin"))
    d = _fresh(did)
    assert (d.status, d.signed_off_by_id, d.review_note) == ("signed_off", second_id, "核对无误")
    assert _actions(did).count("disclosure.sign_off") == 1


def test_a_second_publish_is_refused_and_the_page_changes_once(app, client, vil):
    from civic.village.models import VillageProfile

    did = _draft(client, vil, "submit", "sign_off")
    hua = vil["hua"].id
    version = db.session.scalar(sa.select(VillageProfile.content_version))
    held = _stale(did)
    assert held.status == "signed_off"
    with other_worker(app):
        _service_act(did, "publish", hua)
    _refused(_act(client, vil, did, "publish", "h_hua"))
    assert _fresh(did).status == "published"
    assert _actions(did).count("disclosure.publish") == 1
    assert db.session.scalar(sa.select(VillageProfile.content_version)) == version + 1


def test_a_second_submit_is_refused(app, client, vil):
    did = _draft(client, vil)
    hua = vil["hua"].id
    held = _stale(did)
    assert held.status == "draft"
    with other_worker(app):
        _service_act(did, "submit", hua)
    _refused(_act(client, vil, did, "submit", "h_hua"))
    assert _fresh(did).status == "submitted"
    assert _actions(did).count("disclosure.submit") == 1


def test_lines_added_to_a_draft_being_submitted_are_refused(app, client, vil):
    """Appending lines writes only line rows; the disclosure row is claimed too, so the lines cannot
    slip in after the content hash was taken at submit."""
    from civic.village.service import content_hash

    did = _draft(client, vil)
    hua = vil["hua"].id
    held = _stale(did)
    assert len(held.lines) == 3
    with other_worker(app):
        _service_act(did, "submit", hua)
    r = client.patch(f"/api/v1/village-disclosures/{did}", headers=vil["h_hua"], json={"lines": [
        {"kind": "expense", "date": "2026-03-20", "account": "管理费用", "description": "茶叶",
         "amount_yuan": "50.00"}]})
    _refused(r)
    d = _fresh(did)
    assert len(d.lines) == 3 and d.content_hash == content_hash(d)


def test_two_corrections_at_once_make_one_draft(app, client, vil, monkeypatch):
    from civic.village import service
    from civic.village.models import Disclosure
    from civic.village.service import disclosures

    did = _draft(client, vil, "submit", "sign_off", "publish")
    hua = vil["hua"].id
    real = disclosures.require_text
    fired = []

    def other_correction_first(*args, **kwargs):
        # This request has checked that no correction is pending; the other worker now drafts one.
        if not fired:
            fired.append(True)
            with other_worker(app):
                from civic.accounts.models import User

                service.create_correction(db.session.get(Disclosure, did), {"reason": "另一人更正"},
                                          db.session.get(User, hua))
        return real(*args, **kwargs)

    monkeypatch.setattr(disclosures, "require_text", other_correction_first)
    r = client.post(f"/api/v1/village-disclosures/{did}/corrections", json={"reason": "金额有误"},
                    headers=vil["h_hua"])
    _refused(r)
    assert fired
    db.session.expire_all()
    drafts = db.session.scalars(sa.select(Disclosure).where(Disclosure.supersedes_id == did)).all()
    assert [d.correction_reason for d in drafts] == ["另一人更正"]
    assert _fresh(did).status == "published"


def test_an_inquiry_is_answered_once(app, client, vil):
    from civic.village import service
    from civic.village.models import Inquiry

    did = _draft(client, vil, "submit", "sign_off", "publish")
    r = client.post(f"/api/v1/village-disclosures/{did}/inquiries", json={"question": "道路修补是哪段路？"},
                    headers=vil["h_villager"])
    iid, hua = r.json["id"], vil["hua"].id
    held = db.session.get(Inquiry, iid)
    assert held.answered_at is None
    with other_worker(app):
        from civic.accounts.models import User

        service.answer(iid, "是村东头的新丰路。", db.session.get(User, hua))
    r = client.post(f"/api/v1/village-inquiries/{iid}/answer", json={"answer": "是村西的老路。"}, headers=vil["h_hua"])
    assert r.status_code == 409 and r.json["error"]["code"] == "already_answered"
    db.session.expire_all()
    assert db.session.get(Inquiry, iid).answer == "是村东头的新丰路。"
    from civic.core.audit import entries_for

    assert [e.action for e in entries_for("village_inquiry", iid)] == ["inquiry.ask", "inquiry.answer"]


# --- real parallel requests -----------------------------------------------------------------------

def _parallel(app, requests):
    """Fire ``[(json, headers)]`` at one disclosure's transitions at once; returns the statuses."""
    barrier = threading.Barrier(len(requests))
    out: list[tuple[str, int, str | None]] = []

    def go(url, body, headers):
        c = app.test_client()
        barrier.wait(timeout=10)
        r = c.post(url, json=body, headers=headers)
        out.append((body.get("action", ""), r.status_code, (r.json or {}).get("error", {}).get("code")))

    threads = [threading.Thread(target=go, args=req) for req in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_four_sign_offs_at_once_one_wins(app, client, vil):
    did = _draft(client, vil, "submit")
    db.session.remove()  # this thread holds no connection while the workers run
    out = _parallel(app, [(f"/api/v1/village-disclosures/{did}/transitions", {"action": "sign_off"}, vil["h_jin"])] * 4)
    assert sorted(s for _, s, _ in out) == [200, 409, 409, 409], out
    assert {c for _, s, c in out if s == 409} <= {"disclosure_changed", "transition_invalid"}
    assert _actions(did).count("disclosure.sign_off") == 1


def test_publish_and_return_at_once_one_wins_and_nothing_is_half_written(app, client, vil):
    did = _draft(client, vil, "submit", "sign_off")
    db.session.remove()
    url = f"/api/v1/village-disclosures/{did}/transitions"
    out = _parallel(app, [(url, {"action": "publish"}, vil["h_hua"]),
                          (url, {"action": "return", "note": "撤回签字"}, vil["h_jin"])] * 2)
    winners = [a for a, s, _ in out if s == 200]
    assert len(winners) == 1, out
    d = _fresh(did)
    assert d.status == {"publish": "published", "return": "returned"}[winners[0]]
    assert (d.published_at is not None) == (d.status == "published")
    assert (d.content_hash is not None) == (d.status == "published")
    acts = _actions(did)
    assert acts.count("disclosure.publish") + acts.count("disclosure.return") == 1
    page = client.get(f"/villages/V-T/disclosures/{did}").status_code
    assert page == (200 if d.status == "published" else 404)


def test_four_publishes_at_once_one_wins(app, client, vil):
    did = _draft(client, vil, "submit", "sign_off")
    db.session.remove()
    out = _parallel(app, [(f"/api/v1/village-disclosures/{did}/transitions", {"action": "publish"}, vil["h_hua"])] * 4)
    assert sorted(s for _, s, _ in out) == [200, 409, 409, 409], out
    assert _actions(did).count("disclosure.publish") == 1


def test_the_database_refuses_a_half_written_row(client, vil):
    """Belt and braces: a publication date only on published (or corrected) rows, both ways."""
    from civic.core.db import utcnow
    from civic.village.models import Disclosure

    table = Disclosure.__table__
    did = _draft(client, vil, "submit", "sign_off")
    db.session.remove()
    for values in ({"published_at": utcnow()}, {"status": "published"}):
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.update(table).where(table.c.id == did).values(**values))
    assert _fresh(did).status == "signed_off" and _fresh(did).published_at is None
