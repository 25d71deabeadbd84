"""Every stored file is served, to exactly those entitled, at an unguessable address, every access
audited (civic.core.media; issue #15 point 5).

A sweep over the kinds, not a test of one route:

* the metadata: every column that could hold a stored file's key either declares its kind
  (``info={"media": ...}``) or is listed below as holding none, with the reason; every declared kind is
  registered and has its GET route.  A new column of photos, scans or attachments fails here until it
  names a kind, and a new kind fails until it has a route and a case in :data:`BUILDERS`;
* the data: for each kind, one object is made through the real API with real photos from
  ``/work/shared/photos``; then every row of every table is searched for store keys, and each key found
  must sit in a column declaring a kind (or in a log of one that does), at least one in this kind's;
* the serving: the address the API gave an entitled viewer returns the stored bytes (display and
  thumbnail) to each entitled viewer, each access written to the audit log as ``media.opened``; every
  viewer who is not entitled, and a forged token, get 404 and leave no ``media.opened`` entry;
* both backends: each kind is stored and served once with the filesystem store (the embedded
  default) and once with an S3-compatible bucket (``CIVIC_MEDIA_URL``, a real S3 server the tests
  start: tests/s3.py), where every file must land in the bucket and none on disk (issue #17 point 1).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from civic.core import media
from civic.core.audit import AuditEntry
from civic.extensions import db
from tests.shared import PHOTOS
from tests.village.conftest import vil  # noqa: F401  (the village world, as a fixture)

KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]{64})\.[a-z0-9]{1,8}")

# Columns that are JSON, binary or named like a key but hold no stored file's key, and why.
NOT_MEDIA = {
    ("deferred_job", "args"): "a job's arguments (ids)",
    ("job_outbox", "args"): "a job's arguments (ids)",
    ("job_outbox", "kwargs"): "a job's keyword arguments (ids, a tick's time)",
    ("idempotency_record", "key"): "the client's Idempotency-Key header",
    ("idempotency_record", "body"): "a response replayed to its own sender (a log, see LOGS)",
    ("audit_entry", "data"): "what an action touched (a log, see LOGS)",
    ("content_version", "content"): "a moderated object's earlier versions (a log, see LOGS)",
    ("contest", "categories"): "category names",
    ("holiday_notice", "holidays"): "dates",
    ("holiday_notice", "workdays"): "dates",
    ("notification", "payload"): "a notification's subject ids",
    ("notification", "dedupe_key"): "a notification's de-duplication key",
    ("open311_partner_key", "media_hosts"): "host names a partner's media_url may point at",
    ("routing_rule", "assist_kinds"): "organisation kinds",
    ("routing_rule", "reveal_kinds"): "organisation kinds",
    ("routing_rule", "referrals"): "authority codes",
    ("routing_rule", "lead_fallbacks"): "organisation kinds",
    ("routing_rule", "escalation"): "an organisation kind and authority codes",
    ("routing_rule", "basis"): "the rule's legal sources: law, article, URL, note",
    ("open311_request", "attributes"): "a partner's request attributes",
    ("voting_vote", "result"): "the tally's figures",
    ("voting_head", "key"): "the head's key in the tally (unit codes)",
    ("delib_motion", "result"): "the motion's count",
    ("voting_ballot", "choices"): "choices per matter",
    ("voting_paper_entry", "choices"): "choices per matter",
    ("budget_ballot", "voter_key"): "the voter's key in the round (unit:<id> or resident:<id>)",
    ("budget_ballot", "project_ids"): "the projects a ballot approves",
    ("budget_ballot", "replaced_receipts"): "receipt codes of a ballot's earlier versions",
    ("budget_paper_entry", "voter_key"): "the voter's key in the round (unit:<id> or resident:<id>)",
    ("budget_paper_entry", "project_ids"): "the projects a paper ballot approves",
    ("photo_blur", "regions"): "the boxes a blurred rendition hides (fractions of the image)",
    ("upload_orphan", "key"): "a resumable upload's piece the store has yet to delete (no route serves pieces)",
}
# Columns that may repeat a key of a file held by a media column (a record of what happened, never
# an address): every key found in them must also be in a media column, so it is served there.
LOGS = {("audit_entry", "data"), ("content_version", "content"), ("idempotency_record", "body")}
_SUSPECT = re.compile(r"(key|photo|scan|attachment|file|image|media|voucher|document|evidence)s?$")


def _media_columns() -> dict[tuple[str, str], str]:
    return {(t.name, c.name): c.info["media"] for t in db.metadata.sorted_tables for c in t.columns
            if c.info.get("media")}


def _rendition_columns() -> dict[tuple[str, str], str]:
    """Columns of civic.core.blur's rows: the original's keys (a copy of a key some media column
    holds) and the blurred rendition's (served through the original's kind, to those who may not
    see the original)."""
    return {(t.name, c.name): c.info["media_rendition"] for t in db.metadata.sorted_tables for c in t.columns
            if c.info.get("media_rendition")}


def _real_photo(name: str = "ianare_landscape_2.jpg") -> tuple[io.BytesIO, str]:
    return io.BytesIO((PHOTOS / name).read_bytes()), name


@dataclass
class Case:
    """One object holding a stored file of the kind, as the API made it."""

    urls: list[str]  # the addresses the API gave an entitled viewer
    shown: list  # the representations those addresses came from (must carry no store key)
    entitled: list[dict]  # request headers of viewers who may open the file
    refused: list[dict]  # request headers of viewers who may not
    audit_object: tuple[str, int]  # (object_type, object_id) the access is logged on


# --- one builder per kind -------------------------------------------------------------------------------

def _complaint_photo(request, client, factory) -> Case:
    from tests.complaints.helpers import World, submit

    w = World(factory)
    r = submit(client, w.rh, category="noise", description="楼下商铺夜里十二点还在施工，噪音很大。",
               photos=("ianare_portrait_6.jpg",), place_id=w.units[0].id)
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    _, neighbour = w.other_resident()
    elsewhere = World(factory, phone="13812347777")  # another compound's property company
    return Case([case["photos"][0]["url"]], [case], entitled=[w.rh, w.h["police"]],
                refused=[neighbour, elsewhere.h["property_company"]], audit_object=("complaint", case["id"]))


def _contest_photo(request, client, factory) -> Case:
    from tests.proposals.conftest import World

    w = World(factory, client)
    c = w.contest()
    up = client.post("/api/v1/contest-photos", data={"photos": [_real_photo("ianare_landscape_3.jpg")]},
                     headers=w.h[w.author], content_type="multipart/form-data")
    assert up.status_code == 201, up.json
    r = client.post(f"/api/v1/contests/{c['id']}/ideas", headers=w.h[w.author],
                    json={"title": "口袋花园", "text": "楼前空地种月季", "category": "绿化",
                          "photos": [up.json["items"][0]["display_key"]]})
    assert r.status_code == 201, r.json
    # pending moderation: the author and the organiser's moderators only
    return Case([r.json["photos"][0]["url"]], [r.json], entitled=[w.h[w.author], w.h[w.mod]],
                refused=[w.h[w.neighbour], w.h[w.outsider]], audit_object=("idea", r.json["id"]))


def _action_photo(request, client, factory) -> Case:
    from civic.core.db import commit
    from civic.proposals import moderation
    from tests.proposals.deliberation.conftest import World

    w = World(factory, client)
    resolution, item, update = w.action_item_with_photo("ianare_portrait_5.jpg")
    done = client.post(f"/api/v1/action-items/{item}/close", headers=w.h(w.pc_staff),
                       data={"note": "4个充电桩已安装并通电", "photos": [_real_photo("ianare_landscape_2.jpg")]},
                       content_type="multipart/form-data")
    assert done.status_code == 200, done.json
    # The topic is hidden afterwards: its follow-up is then for its author and moderators only.
    moderation.decide(w.mod, "topic", resolution.topic_id, "hide", "含有个人信息")
    commit()
    return Case([update["photos"][0]["url"], done.json["evidence_photos"][0]["url"]], [update, done.json],
                entitled=[w.h(w.residents[0]), w.h(w.mod)], refused=[w.h(w.outsider), w.h(w.residents[1])],
                audit_object=("action_item", item))


def _voucher(request, client, factory) -> Case:
    from tests.village.conftest import finance_body

    v = request.getfixturevalue("vil")
    r = client.post("/api/v1/villages/V-T/disclosures", json=finance_body(), headers=v["h_hua"])
    assert r.status_code == 201, r.json
    did, line = r.json["id"], r.json["lines"][1]["id"]
    up = client.post(f"/api/v1/village-disclosures/{did}/lines/{line}/vouchers", headers=v["h_hua"],
                     data={"photos": [_real_photo("pillow_pil123rgba.png")]}, content_type="multipart/form-data")
    assert up.status_code == 201, up.json
    # a draft: the village's committees and the town read it; villagers and outsiders do not (yet)
    return Case([up.json[0]["url"]], [up.json], entitled=[v["h_hua"], v["h_jin"], v["h_wang"]],
                refused=[v["h_villager"], v["h_outsider"]], audit_object=("village_disclosure", did))


def _vote_world(client, factory, caplog) -> dict:
    """A compound's vote with a matter carrying an attachment, opened; owners A (1-101/102), B and C
    (co-owners of 1-103, B representing) and D (2-101) verified; B's proxy to C registered with its
    written authorisation; D's unit's paper ballot entered with its scan."""
    import datetime as dt

    from civic.core.db import utcnow
    from civic.voting.models import Vote
    from tests.voting.helpers import Compound, api, roster_unit_ids, signer_fields, verify

    caplog.set_level(logging.WARNING, logger="civic.accounts.service")  # the development SMS adapter
    comp = Compound(factory)
    h = factory.token(comp.head)
    st, roster = api(client, "post", "/api/v1/rosters", h, json={"place_id": comp.compound.id})
    assert st == 201, roster
    rid = roster["roster"]["id"]
    assert api(client, "post", f"/api/v1/rosters/{rid}/certify", h, json={})[0] == 200
    st, vote = api(client, "post", "/api/v1/votes", h, json={"roster_id": rid, "title": "续聘物业"})
    assert st == 201, vote
    vid = vote["id"]
    st, matter = api(client, "post", f"/api/v1/votes/{vid}/matters", h,
                     json={"number": 4, "title": "续聘物业服务企业", "text": "见附件合同"})
    assert st == 201, matter
    st, matter = api(client, "post", f"/api/v1/votes/{vid}/matters/{matter['id']}/attachments", h,
                     data={"files": [_real_photo("ianare_portrait_6.jpg")]}, content_type="multipart/form-data")
    assert st == 201, matter
    assert api(client, "post", f"/api/v1/votes/{vid}/transition", h, json={"action": "announce"})[0] == 200
    db.session.get(Vote, vid).voting_opens_at = utcnow() - dt.timedelta(seconds=1)
    factory.commit()
    assert api(client, "post", f"/api/v1/votes/{vid}/transition", h, json={"action": "open"})[0] == 200
    tokens = {u: factory.token(getattr(comp, u)) for u in ("a", "b", "c", "d")}
    for u, t in tokens.items():
        verify(client, caplog, vid, getattr(comp, u), t)
    b_person = next(o["person_id"] for u in api(client, "get", f"/api/v1/rosters/{rid}/units", h)[1]["items"]
                    for o in u["owners"] if o["representative"] and u["unit_code"] == comp.units[2].code)
    st, proxy = api(client, "post", f"/api/v1/votes/{vid}/proxies", h,
                    data={"principal_person_id": str(b_person), "holder_name": "共有人", "holder_phone": comp.c.phone,
                          "scan": _real_photo("recurser_Portrait_0.jpg")}, content_type="multipart/form-data")
    assert st == 201, proxy
    mt = factory.token(comp.member)
    st, paper = api(client, "post", f"/api/v1/votes/{vid}/paper-ballots", mt,
                    data={"roster_unit_id": str(roster_unit_ids(vid)[comp.units[3].code]),
                          "choices": json.dumps({str(matter["id"]): "agree"}),
                          "scan": _real_photo("pillow_pil_sample_cmyk.jpg"),
                          **signer_fields(vid, roster_unit_ids(vid)[comp.units[3].code])},
                    content_type="multipart/form-data")
    assert st == 201, paper
    other = Compound(factory)  # another compound's committee, and an outsider
    st, shown = api(client, "get", f"/api/v1/votes/{vid}", tokens["a"])
    assert st == 200, shown
    return {"vote": vid, "matter": matter, "shown": shown, "proxy": proxy, "paper": paper, "head": h, "member": mt,
            "owners": tokens, "other_committee": factory.token(other.head), "outsider": factory.token(other.a)}


def _matter_attachment(request, client, factory) -> Case:
    v = _vote_world(client, factory, request.getfixturevalue("caplog"))
    url = v["matter"]["attachments"][0]["url"]
    assert v["shown"]["matters"][0]["attachments"][0]["url"] == url  # the vote as an owner reads it
    return Case([url], [v["matter"], v["shown"]], entitled=[v["head"], v["owners"]["a"], v["owners"]["d"]],
                refused=[v["other_committee"], v["outsider"]], audit_object=("vote", v["vote"]))


def _proxy_scan(request, client, factory) -> Case:
    v = _vote_world(client, factory, request.getfixturevalue("caplog"))
    # the committee and the owner who gave the proxy; not the holder, not another owner
    return Case([v["proxy"]["scan_url"]], [v["proxy"]], entitled=[v["head"], v["member"], v["owners"]["b"]],
                refused=[v["owners"]["c"], v["owners"]["a"], v["other_committee"], v["outsider"]],
                audit_object=("vote", v["vote"]))


def _paper_scan(request, client, factory) -> Case:
    v = _vote_world(client, factory, request.getfixturevalue("caplog"))
    # the committee and the owner of the unit whose ballot it is; not another owner
    return Case([v["paper"]["scan_url"]], [v["paper"]], entitled=[v["head"], v["member"], v["owners"]["d"]],
                refused=[v["owners"]["a"], v["other_committee"], v["outsider"]], audit_object=("vote", v["vote"]))


def _claim_document(request, client, factory) -> Case:
    from tests.residents.test_claims import Street

    st = Street(factory, client)
    claimant = factory.resident()
    r = st.claim(claimant, st.u102, document=True)
    assert r.status_code == 201, r.get_json()
    shown = client.get(f"/api/v1/unit-claims/{r.get_json()['id']}", headers=st.h(st.rc_staff)).get_json()
    # the unit's verifiers (no roster lists it: the residents' committee, the property company) and
    # administrators; not the claimant, not the owners' committee, not another community's committee
    return Case([shown["document_url"]], [shown, r.get_json()],
                entitled=[st.h(st.rc_staff), st.h(st.pc_staff), st.h(st.admin)],
                refused=[st.h(claimant), st.h(st.oc_head), st.h(st.other_rc), st.h(st.other_pc)],
                audit_object=("unit_claim", shown["id"]))


BUILDERS: dict[str, Callable[..., Case]] = {
    "complaints.photo": _complaint_photo,
    "contests.photo": _contest_photo,
    "deliberation.action_photo": _action_photo,
    "village.voucher": _voucher,
    "voting.matter_attachment": _matter_attachment,
    "voting.proxy_scan": _proxy_scan,
    "voting.paper_scan": _paper_scan,
    "residents.claim_document": _claim_document,
}


# --- the sweep ------------------------------------------------------------------------------------------

def test_every_column_that_could_hold_a_stored_file_declares_a_served_kind(app):
    kinds = media.kinds()
    declared = _media_columns()
    unknown = {col: kind for col, kind in declared.items() if kind not in kinds}
    assert unknown == {}, "columns naming an unregistered media kind"
    unclassified = []
    renditions = _rendition_columns()
    assert set(renditions.values()) <= {"original", "blurred"}
    for t in db.metadata.sorted_tables:
        for c in t.columns:
            if (t.name, c.name) in declared or (t.name, c.name) in NOT_MEDIA or (t.name, c.name) in renditions:
                continue
            if isinstance(c.type, sa.JSON | sa.LargeBinary) or _SUSPECT.search(c.name):
                unclassified.append((t.name, c.name))
    assert unclassified == [], "declare info={'media': kind} or list the column in NOT_MEDIA with its reason"
    assert set(declared.values()) == set(kinds), "a registered kind with no column"
    rules = {r.rule: r for r in app.url_map.iter_rules()}
    for kind in kinds.values():
        assert kind.route in rules and "GET" in rules[kind.route].methods, kind.name
        assert "<token>" in kind.route or "<string:token>" in kind.route, kind.name
        assert kind.entitled, kind.name
    assert set(BUILDERS) == set(kinds), "every kind needs a case in BUILDERS"


def _stored_keys() -> dict[tuple[str, str], set[str]]:
    """Every store key found anywhere in the database: ``{(table, column): {digest}}``."""
    found: dict[tuple[str, str], set[str]] = {}
    with db.engine.connect() as conn:
        for t in db.metadata.sorted_tables:
            for row in conn.execute(sa.select(t)).mappings():
                for name, value in row.items():
                    if value is None or isinstance(value, int | float):
                        continue
                    if isinstance(value, bytes):
                        text = value.decode("utf-8", "replace")
                    elif isinstance(value, str):
                        text = value
                    else:
                        text = json.dumps(value, default=str)
                    digests = set(KEY.findall(text))
                    if digests:
                        found.setdefault((t.name, name), set()).update(digests)
    return found


def _opened(kind: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "media.opened")
                                   .order_by(AuditEntry.id)).all())


def _files_on_disk(app) -> set[str]:
    root = Path(app.config["MEDIA_DIR"])
    return {str(p) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_each_kind_is_served_to_exactly_those_entitled_and_each_access_is_audited(kind, request, app, client,
                                                                                   factory, media_backend):
    from tests.blur_helpers import run_blur_jobs

    on_disk = _files_on_disk(app)
    case = BUILDERS[kind](request, client, factory)
    db.session.rollback()
    # A kind shown blurred beyond the photo's own circle: its renditions made, as the queue would.
    blurred_kind = media.kinds()[kind].blurred
    if blurred_kind:
        run_blur_jobs()
    # Where the files live: each key in a column declaring a kind, or in a log of one that is, or a
    # blurred rendition of one.
    declared = _media_columns()
    renditions = _rendition_columns()
    keys = _stored_keys()
    held = set().union(*(d for col, d in keys.items() if col in declared))
    blurred = set().union(*(d for col, d in keys.items() if renditions.get(col) == "blurred"))
    for col, digests in keys.items():
        assert col in declared or col in LOGS or col in renditions, f"a stored key in {col}, which declares no media kind"
        if renditions.get(col) != "blurred":
            assert digests <= held, f"{col} names a file no media column holds"
    mine = set().union(*(d for col, d in keys.items() if declared.get(col) == kind))
    assert mine, f"no file of {kind} was stored"
    if media_backend is not None:  # in the bucket, under the prefix and the content key, and not on disk
        in_bucket = {hashlib.sha256(data).hexdigest(): name for name, data in media_backend.objects().items()}
        assert mine <= set(in_bucket) and all(in_bucket[d].startswith("media/") for d in mine)
        assert _files_on_disk(app) == on_disk
    # The API shows addresses, never store keys.
    for shown in case.shown:
        assert not KEY.search(json.dumps(shown, default=str)), shown
    route = media.kinds()[kind].route
    adapter = app.url_map.bind("localhost")
    for url in case.urls:
        rule, _args = adapter.match(url, method="GET", return_rule=True)
        assert rule.rule == route
        token = url.rsplit("/", 1)[1]
        assert len(token) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
        for headers in case.entitled:
            before = len(_opened(kind))
            r = client.get(url, headers=headers)
            assert r.status_code == 200, (url, r.get_json(silent=True))
            assert r.mimetype == "image/jpeg" and r.data[:3] == b"\xff\xd8\xff"
            # the stored bytes themselves: the original, or (a blurred kind) its blurred rendition
            servable = mine | blurred if blurred_kind else mine
            assert hashlib.sha256(r.data).hexdigest() in servable
            thumb = client.get(url, headers=headers, query_string={"size": "thumb"})
            assert thumb.status_code == 200 and hashlib.sha256(thumb.data).hexdigest() in servable
            assert len(thumb.data) <= len(r.data)  # the same bytes when the photo is already thumbnail-sized
            entries = _opened(kind)[before:]
            assert [(e.object_type, int(e.object_id), e.data["kind"], e.data["size"], e.data["token"])
                    for e in entries] == [(*case.audit_object, kind, "display", token[:8]),
                                          (*case.audit_object, kind, "thumb", token[:8])]
            assert entries[0].actor_id is not None and entries[0].actor_id == entries[1].actor_id
            if blurred_kind:  # which rendition was opened is in the log too
                assert entries[0].data["rendition"] in ("original", "blurred")
            # Revalidated, never kept blind (one URL may serve two files; a blur review changes it):
            # the ETag names the very file served (civic.core.photos.photo_response).
            for got in (r, thumb):
                assert got.headers["Cache-Control"] == "private, no-cache"
                assert {v.strip() for v in got.headers["Vary"].split(",")} >= {"Authorization", "Cookie"}
                assert got.headers["ETag"] == f'"{hashlib.sha256(got.data).hexdigest()}"'
            again = client.get(url, headers={**headers, "If-None-Match": r.headers["ETag"]})
            assert again.status_code == 304 and again.data == b""
            if thumb.data != r.data:  # another file's ETag (here the thumbnail's): the bytes in full
                stale = client.get(url, headers={**headers, "If-None-Match": thumb.headers["ETag"]})
                assert stale.status_code == 200 and stale.data == r.data
        for headers in case.refused:
            before = len(_opened(kind))
            r = client.get(url, headers=headers)
            assert r.status_code == 404, (url, case.refused.index(headers), r.status_code)
            assert r.get_json()["error"]["code"].endswith("not_found")
            assert len(_opened(kind)) == before
        forged = url[: -len(token)] + ("A" if token[0] != "A" else "B") + token[1:]
        before = len(_opened(kind))
        r = client.get(forged, headers=case.entitled[0])
        assert r.status_code == 404 and len(_opened(kind)) == before
    assert client.get(case.urls[0]).status_code == 401  # no account, no file
