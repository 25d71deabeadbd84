"""Issue #15 point 10: a closed case is closed, and so is a merged one.

Every write route on a case — each one of the OpenAPI document under /api/v1/complaints/{id}/ and
each of the console's case forms — answers 409 on a closed and on a merged case, with a stable code
and a Chinese message, and writes nothing (no row, no file, no audit entry, no new version).  The
exceptions are what the workflow allows: the complainant's rating (its own check: a closed case is
no longer open for rating, 409 ``rating_not_open``) and revealing the complainant, a logged read.
"""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from tests.complaints.helpers import act, jpeg, media_files, new_case
from tests.console.helpers import Console

API = "/api/v1"
ENDED_CODES = {"closed": "complaint_closed", "merged": "complaint_merged"}


@pytest.fixture
def ended(client, w):
    """A noise case (the police lead) resolved and rated, hence closed; another merged into an open one."""
    closed = new_case(client, w, "noise")
    assert act(client, w.h["police"], closed, "acknowledge").status_code == 200
    assert act(client, w.h["police"], closed, "resolve", note="已上门劝导").status_code == 200
    r = client.post(f"{API}/complaints/{closed}/rating", headers=w.rh, json={"rating": 5})
    assert r.status_code == 200 and r.get_json()["status"] == "closed"
    target = new_case(client, w, "noise")
    merged = new_case(client, w, "noise")
    assert act(client, w.h["residents_committee"], merged, "merge", into_id=target).status_code == 200
    return {"closed": closed, "merged": merged, "open": target}


def _photos():
    return {"photos": [(io.BytesIO(jpeg()), "r.jpg")]}


def _api_writes(client, w, cid, open_id):
    """(method, document path) → the attempts, each (who, call); who may act there when it is open."""
    url = f"{API}/complaints/{cid}"
    police, rc = w.h["police"], w.h["residents_committee"]

    def tr(h, action, **body):
        return lambda: client.post(f"{url}/transitions", headers=h, json={"action": action, **body})

    return {
        ("post", f"{API}/complaints/{{complaint_id}}/transitions"): [
            tr(police, "acknowledge"), tr(police, "start"), tr(police, "resolve", note="已处理"),
            tr(police, "return", note="不归我们管"),
            tr(rc, "reroute", lead_organisation_id=w.orgs["police"].id), tr(rc, "merge", into_id=open_id)],
        ("post", f"{API}/complaints/{{complaint_id}}/photos"): [
            lambda: client.post(f"{url}/photos", headers=police, data=_photos(), content_type="multipart/form-data")],
        ("post", f"{API}/complaints/{{complaint_id}}/messages"): [
            lambda: client.post(f"{url}/messages", headers=w.rh, json={"body": "还是很吵"}),
            lambda: client.post(f"{url}/messages", headers=police, json={"body": "已再次劝导"}),
            lambda: client.post(f"{url}/messages", headers=police, json={"body": "内部备注", "internal": True}),
            lambda: client.post(f"{url}/messages", headers=rc, json={"body": "居委会跟进"})],
        ("post", f"{API}/complaints/{{complaint_id}}/rating"): [
            lambda: client.post(f"{url}/rating", headers=w.rh, json={"rating": 1})],
        ("post", f"{API}/complaints/{{complaint_id}}/complainant"): [
            lambda: client.post(f"{url}/complainant", headers=rc, json={"reason": "回访核实"})],
        # "Me too": a neighbour of the same compound may join an open case, not an ended one.
        ("post", f"{API}/complaints/{{complaint_id}}/supporters"): [
            lambda: client.post(f"{url}/supporters", headers=_neighbour(w), data=_photos(),
                                content_type="multipart/form-data"),
            lambda: client.post(f"{url}/supporters", headers=_neighbour(w), data={},
                                content_type="multipart/form-data")],
        ("delete", f"{API}/complaints/{{complaint_id}}/supporters"): [
            lambda: client.delete(f"{url}/supporters", headers=_neighbour(w))],
        # The lead's review of a photo's blur (issue #19): a privacy fix, so it goes on after the
        # case ends (PRIVACY_AFTER_END below); its own test shows it on an ended case.
        ("post", f"{API}/complaints/{{complaint_id}}/photos/{{token}}/blur/regions"): [
            lambda: client.post(f"{url}/photos/{_token(client, w, cid)}/blur/regions", headers=police,
                                json={"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2})],
        ("delete", f"{API}/complaints/{{complaint_id}}/photos/{{token}}/blur/regions/{{region_id}}"): [
            lambda: client.delete(f"{url}/photos/{_token(client, w, cid)}/blur/regions/0a1b2c3d", headers=police)],
    }


def _token(client, w, cid) -> str:
    """The access token of the case's first photo, as its lead reads it."""
    photo = client.get(f"{API}/complaints/{cid}", headers=w.h["police"]).get_json()["photos"][0]
    return photo["url"].rsplit("/", 1)[1].split("?")[0]


def _neighbour(w) -> dict:
    """The headers of a resident of the case's compound (made once per world)."""
    if not hasattr(w, "neighbour_h"):
        _u, w.neighbour_h = w.other_resident(unit=1)
    return w.neighbour_h


# A logged read, not a change; and leaving a case one does not support (allowed in every state, 204).
ALLOWED = {("post", f"{API}/complaints/{{complaint_id}}/complainant"),
           ("delete", f"{API}/complaints/{{complaint_id}}/supporters")}
# Hiding a face or a number plate is never refused because the case has ended: the blurred photo
# stays on show (its original is kept 90 days after closing, docs/privacy.md).
PRIVACY_AFTER_END = {("post", f"{API}/complaints/{{complaint_id}}/photos/{{token}}/blur/regions"),
                     ("delete", f"{API}/complaints/{{complaint_id}}/photos/{{token}}/blur/regions/{{region_id}}")}


def _snapshot(app, cid):
    from civic.complaints.models import Complaint, ComplaintMessage, ComplaintPhoto
    from civic.core.audit import AuditEntry
    from civic.extensions import db

    db.session.expire_all()
    c = db.session.get(Complaint, cid)
    count = lambda m, *w: db.session.scalar(sa.select(sa.func.count()).select_from(m).where(*w))  # noqa: E731
    return {"status": c.status, "version": c.version,
            "photos": count(ComplaintPhoto, ComplaintPhoto.complaint_id == cid),
            "messages": count(ComplaintMessage, ComplaintMessage.complaint_id == cid),
            "audit": count(AuditEntry, AuditEntry.object_type == "complaint",
                           AuditEntry.action.not_in(["complaint.viewed", "complaint.complainant_revealed"])),
            "files": len(media_files(app))}


def test_the_sweep_covers_every_write_route_on_a_case(client, w, ended):
    spec = client.get(f"{API}/openapi.json").get_json()
    writes = {(m, p) for p, item in spec["paths"].items() if p.startswith(f"{API}/complaints/{{complaint_id}}/")
              for m in item if m in ("post", "put", "patch", "delete")}
    assert writes == set(_api_writes(client, w, ended["closed"], ended["open"]))


@pytest.mark.parametrize("state", ["closed", "merged"])
def test_every_write_on_an_ended_case_is_refused_and_writes_nothing(app, client, w, ended, state):
    cid = ended[state]
    before = _snapshot(app, cid)
    for (method, path), attempts in _api_writes(client, w, cid, ended["open"]).items():
        for i, attempt in enumerate(attempts):
            r = attempt()
            where = f"{method.upper()} {path} #{i} on a {state} case"
            if (method, path) in PRIVACY_AFTER_END:
                continue  # test_the_lead_still_fixes_a_photos_blur_after_the_case_ends
            if (method, path) in ALLOWED:
                assert r.status_code in (200, 204), (where, r.get_json())
                continue
            assert r.status_code == 409, (where, r.status_code, r.get_json())
            err = r.get_json()["error"]
            expected = "rating_not_open" if path.endswith("/rating") else ENDED_CODES[state]
            assert err["code"] == expected, where
            assert any("\u4e00" <= ch <= "\u9fff" for ch in err["message"]), where
    assert _snapshot(app, cid) == before


def test_a_merged_case_names_the_case_to_work_on(client, w, ended):
    r = client.post(f"{API}/complaints/{ended['merged']}/messages", headers=w.h["police"], json={"body": "跟进"})
    err = r.get_json()["error"]
    assert err["details"]["merged_into_id"] == ended["open"] and f"#{ended['open']}" in err["message"]


@pytest.mark.parametrize("state", ["closed", "merged"])
def test_every_console_form_on_an_ended_case_is_refused_and_writes_nothing(app, w, ended, state):
    cid = ended[state]
    police = Console(app, w.staff["police"].username, "test-pass-123")
    rc = Console(app, w.staff["residents_committee"].username, "test-pass-123")
    version = _snapshot(app, cid)["version"]
    before = _snapshot(app, cid)
    forms = [
        *[(police, f"actions/{a}", {"version": version, "note": "已处理"}) for a in ("acknowledge", "start", "return")],
        (police, "actions/resolve", {"version": version, "note": "已处理", **_photos()}),
        (rc, "actions/reroute", {"version": version, "lead_organisation_id": w.orgs["police"].id}),
        (rc, "actions/merge", {"version": version, "into_id": ended["open"]}),
        (police, "messages", {"body": "已再次劝导"}),
        (police, "messages", {"body": "内部备注", "internal": "1"}),
        (police, "photos", _photos()),
    ]
    for con, action, data in forms:
        r = con.post(f"/console/cases/{cid}/{action}", data=data, content_type="multipart/form-data")
        assert r.status_code == 409, (action, r.status_code)
        assert ENDED_CODES[state] in r.text or "不能再" in r.text, action
    assert _snapshot(app, cid) == before


def test_a_resolved_case_still_takes_messages_and_result_photos(client, w):
    cid = new_case(client, w, "noise")
    act(client, w.h["police"], cid, "acknowledge")
    act(client, w.h["police"], cid, "resolve", note="已上门劝导")
    assert client.post(f"{API}/complaints/{cid}/messages", headers=w.rh, json={"body": "谢谢"}).status_code == 201
    r = client.post(f"{API}/complaints/{cid}/photos", headers=w.h["police"], data=_photos(),
                    content_type="multipart/form-data")
    assert r.status_code == 201


@pytest.mark.parametrize("state", ["closed", "merged"])
def test_nothing_is_merged_into_an_ended_case(app, client, w, ended, state):
    cid = ended[state]
    dup = new_case(client, w, "noise")
    before = _snapshot(app, cid)
    r = act(client, w.h["residents_committee"], dup, "merge", into_id=cid)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == ENDED_CODES[state]
    assert _snapshot(app, cid) == before


@pytest.mark.parametrize("state", ["closed", "merged"])
def test_the_lead_still_fixes_a_photos_blur_after_the_case_ends(client, w, ended, state):
    """The lead party adds a blur region to, then removes it from, a photo of an ended case: 201
    then 200, the region recorded and gone (a privacy fix is never "case closed")."""
    from tests.blur_helpers import run_blur_jobs

    run_blur_jobs()
    cid = ended[state]
    base = f"{API}/complaints/{cid}/photos/{_token(client, w, cid)}/blur"
    r = client.post(f"{base}/regions", headers=w.h["police"], json={"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2})
    assert r.status_code == 201, r.get_json()
    added = [g for g in r.get_json()["regions"] if g["source"] == "manual"]
    assert len(added) == 1
    r = client.delete(f"{base}/regions/{added[0]['id']}", headers=w.h["police"])
    assert r.status_code == 200, r.get_json()
    assert not [g for g in r.get_json()["regions"] if g["source"] == "manual" and not g.get("removed")]
