"""Resumable uploads, tus 1.0 (civic.core.resumable; issue #19 point 3): the protocol, its refusals,
the photo pipeline's checks at completion, attaching by upload id (once), the purge.

The protocol is driven here through Flask's test client, byte for byte as a tus client sends it;
tests/core/test_resumable_link.py drives it with a real client (tuspy) over a dropping link.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io

import pytest
import sqlalchemy as sa

from civic.core import resumable
from civic.core.db import utcnow
from civic.core.resumable import Upload, UploadPiece
from civic.extensions import db
from tests.shared import PHOTOS
from tests.village.conftest import vil  # noqa: F401  (the village world, as a fixture)

TUS = {"Tus-Resumable": "1.0.0"}
PHOTO = "ianare_gps_DSCN0010.jpg"  # carries an EXIF GPS position


def _meta(**items) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in items.items())


def create(client, headers, length, **meta):
    meta.setdefault("filename", PHOTO)
    return client.post("/api/v1/uploads", headers={**headers, **TUS, "Upload-Length": str(length),
                                                   "Upload-Metadata": _meta(**meta)})


def patch(client, headers, url, offset, data, *, checksum=None, ctype="application/offset+octet-stream"):
    h = {**headers, **TUS, "Upload-Offset": str(offset), "Content-Type": ctype}
    if checksum:
        h["Upload-Checksum"] = checksum
    return client.patch(url, data=data, headers=h)


def sha1(data: bytes) -> str:
    return "sha1 " + base64.b64encode(hashlib.sha1(data).digest()).decode()


def upload(client, headers, data: bytes, *, piece=50_000, **meta) -> str:
    """Send ``data`` in pieces with checksums; returns the upload's id."""
    r = create(client, headers, len(data), **meta)
    assert r.status_code == 201, r.get_json()
    url = r.headers["Location"]
    for at in range(0, len(data), piece):
        chunk = data[at:at + piece]
        r = patch(client, headers, url, at, chunk, checksum=sha1(chunk))
        assert r.status_code == 204, r.get_json()
        assert r.headers["Upload-Offset"] == str(at + len(chunk))
    return url.rsplit("/", 1)[1]


@pytest.fixture
def world(factory):
    from tests.complaints.helpers import World

    return World(factory)


def test_options_names_the_protocol_and_its_extensions(client):
    r = client.options("/api/v1/uploads")
    assert r.status_code in (200, 204)
    assert r.headers["Tus-Resumable"] == "1.0.0" and r.headers["Tus-Version"] == "1.0.0"
    assert set(r.headers["Tus-Extension"].split(",")) >= {"creation", "checksum", "expiration", "termination"}
    assert "sha1" in r.headers["Tus-Checksum-Algorithm"].split(",")
    assert int(r.headers["Tus-Max-Size"]) == 20 * 1024 * 1024


def test_create_head_patch_complete(client, world):
    data = (PHOTOS / PHOTO).read_bytes()
    r = create(client, world.rh, len(data))
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert r.headers["Location"] == body["url"] == f"/api/v1/uploads/{body['id']}"
    assert body["offset"] == 0 and body["length"] == len(data) and body["status"] == "receiving"
    assert r.headers["Tus-Resumable"] == "1.0.0" and r.headers["Upload-Expires"].endswith("GMT")
    url = body["url"]
    first = data[:60_000]
    assert patch(client, world.rh, url, 0, first, checksum=sha1(first)).headers["Upload-Offset"] == "60000"
    head = client.head(url, headers={**world.rh, **TUS})
    assert head.status_code == 200 and head.headers["Upload-Offset"] == "60000"
    assert head.headers["Upload-Length"] == str(len(data)) and head.headers["Cache-Control"] == "no-store"
    r = patch(client, world.rh, url, 60_000, data[60_000:])  # no checksum: also accepted
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(len(data))
    got = client.get(url, headers=world.rh).get_json()
    assert got["status"] == "complete" and got["offset"] == len(data)
    u = db.session.get(Upload, body["id"])
    # Stored in the media store in pieces (never as one file in memory), each under the nonce.
    pieces = db.session.scalars(sa.select(UploadPiece).where(UploadPiece.upload_id == u.id)
                                .order_by(UploadPiece.offset)).all()
    assert [(p.offset, p.length) for p in pieces] == [(0, 60_000), (60_000, len(data) - 60_000)]
    from civic.core.storage import media_store

    stored = [media_store().open(f"{p.digest[:2]}/{p.digest[2:4]}/{p.digest}.part") for p in pieces]
    # Each piece under a salt of its own (as long as the nonce): no two stored pieces share a key.
    assert stored[0][16:] == first and len(bytes.fromhex(u.nonce)) == 16
    assert stored[1][16:] == data[60_000:] and stored[0][:16] != stored[1][:16]


def test_a_long_body_is_stored_in_pieces_of_a_mebibyte(client, world):
    from PIL import Image

    im = Image.open(PHOTOS / "ianare_landscape_2.jpg")
    buf = io.BytesIO()
    im.resize((3200, 2400)).save(buf, "JPEG", quality=98, subsampling=0)
    data = buf.getvalue()
    assert len(data) > 2 * resumable.PIECE_BYTES
    r = create(client, world.rh, len(data))
    r = patch(client, world.rh, r.headers["Location"], 0, data, checksum=sha1(data))
    assert r.status_code == 204, r.get_json()
    lengths = db.session.scalars(sa.select(UploadPiece.length).order_by(UploadPiece.offset)).all()
    assert lengths[:2] == [resumable.PIECE_BYTES, resumable.PIECE_BYTES] and sum(lengths) == len(data)


# --- refusals ------------------------------------------------------------------------------------

def test_wrong_offset_is_409_with_the_offset_to_resume_from(client, world):
    r = create(client, world.rh, 1000)
    url = r.headers["Location"]
    assert patch(client, world.rh, url, 0, b"\xff\xd8\xff" + b"x" * 97).status_code == 204
    r = patch(client, world.rh, url, 0, b"y" * 100)
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "upload_offset_mismatch"
    assert r.get_json()["error"]["details"]["offset"] == 100
    assert client.head(url, headers=world.rh).headers["Upload-Offset"] == "100"


def test_wrong_checksum_is_460_and_keeps_nothing(client, world):
    from civic.core.storage import media_store

    r = create(client, world.rh, 1000)
    url = r.headers["Location"]
    before = set(media_store().iter_keys())
    r = patch(client, world.rh, url, 0, b"a" * 100, checksum=sha1(b"b" * 100))
    assert r.status_code == 460 and r.get_json()["error"]["code"] == "checksum_mismatch"
    assert client.head(url, headers=world.rh).headers["Upload-Offset"] == "0"
    assert set(media_store().iter_keys()) == before  # the piece written while reading was removed
    r = patch(client, world.rh, url, 0, b"a" * 100, checksum="crc99 AAAA")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "checksum_algorithm_unsupported"


def test_over_the_kinds_size_is_413_before_a_byte_is_sent(client, world):
    r = create(client, world.rh, 20 * 1024 * 1024 + 1)
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "upload_too_large"
    assert r.get_json()["error"]["details"]["max_bytes"] == 20 * 1024 * 1024
    r = create(client, world.rh, 10 * 1024 * 1024 + 1, kind="scan")
    assert r.status_code == 413 and r.get_json()["error"]["details"]["max_bytes"] == 10 * 1024 * 1024
    assert create(client, world.rh, 100, kind="video").get_json()["error"]["code"] == "upload_kind_unknown"
    url = create(client, world.rh, 100).headers["Location"]
    r = patch(client, world.rh, url, 0, b"z" * 101)
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "upload_past_length"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Upload)) == 1


def test_expired_is_410(client, world):
    r = create(client, world.rh, 1000)
    u = db.session.get(Upload, r.get_json()["id"])
    u.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    for resp in (client.head(r.headers["Location"], headers=world.rh),
                 patch(client, world.rh, r.headers["Location"], 0, b"x")):
        assert resp.status_code == 410
    assert client.get(r.headers["Location"], headers=world.rh).get_json()["error"]["code"] == "upload_expired"


def test_another_accounts_upload_does_not_exist_for_them(client, world):
    url = create(client, world.rh, 1000).headers["Location"]
    _, other = world.other_resident()
    staff = world.h["property_company"]
    for h in (other, staff):
        assert client.head(url, headers=h).status_code == 404
        r = patch(client, h, url, 0, b"x" * 10)
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "upload_not_found"
        assert client.delete(url, headers=h).status_code == 404
    assert client.head(url).status_code == 401
    assert client.head(url, headers=world.rh).headers["Upload-Offset"] == "0"


def test_wrong_content_type_is_415(client, world):
    url = create(client, world.rh, 1000).headers["Location"]
    r = patch(client, world.rh, url, 0, b"x" * 10, ctype="application/octet-stream")
    assert r.status_code == 415 and r.get_json()["error"]["code"] == "upload_content_type"


def test_another_protocol_version_is_412(client, world):
    r = client.post("/api/v1/uploads", headers={**world.rh, "Tus-Resumable": "0.2.2", "Upload-Length": "10"})
    assert r.status_code == 412 and r.headers["Tus-Version"] == "1.0.0"


def test_a_file_the_photo_pipeline_refuses_is_refused_at_the_last_piece(client, world):
    text = "这不是照片".encode() * 100
    url = create(client, world.rh, len(text), filename="note.jpg").headers["Location"]
    assert patch(client, world.rh, url, 0, text[:200]).status_code == 204
    r = patch(client, world.rh, url, 200, text[200:])
    assert r.status_code == 415 and r.get_json()["error"]["code"] == "photo_format_unsupported"
    got = client.get(url, headers=world.rh).get_json()
    assert got["status"] == "receiving" and got["offset"] == 200  # the refused last piece is not kept


def test_termination_deletes_the_upload_and_its_pieces(client, world):
    from civic.core.storage import media_store

    before = set(media_store().iter_keys())
    url = create(client, world.rh, 1000).headers["Location"]
    assert patch(client, world.rh, url, 0, b"\xff\xd8\xff" + b"q" * 300).status_code == 204
    assert len(set(media_store().iter_keys()) - before) == 1
    assert client.delete(url, headers={**world.rh, **TUS}).status_code == 204
    assert client.head(url, headers=world.rh).status_code == 404
    assert set(media_store().iter_keys()) == before


# --- attaching by upload id ---------------------------------------------------------------------

def _file_case(client, world, ids, key=None):
    h = dict(world.rh)
    if key:
        h["Idempotency-Key"] = key
    return client.post("/api/v1/complaints", headers=h, content_type="multipart/form-data",
                       data={"category": "noise", "description": "楼下商铺夜里十二点还在施工，噪音很大。",
                             "place_id": str(world.units[0].id), "upload_ids": ids})


def test_a_finished_upload_files_a_case_once(client, world, media_backend):
    from civic.core.storage import media_store

    data = (PHOTOS / PHOTO).read_bytes()
    before = set(media_store().iter_keys())
    uid = upload(client, world.rh, data)
    assert len([k for k in set(media_store().iter_keys()) - before if k.endswith(".part")]) == 4
    r = _file_case(client, world, [uid], key="case-1")
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    assert len(case["photos"]) == 1
    photo = client.get(case["photos"][0]["url"], headers=world.rh)
    assert photo.status_code == 200 and photo.data[:3] == b"\xff\xd8\xff"
    from PIL import Image

    im = Image.open(io.BytesIO(photo.data))
    assert not im.getexif() and im.size == (640, 480)  # the pipeline's copy: no EXIF, no GPS
    # The upload is consumed, its pieces gone from the store; only the processed copies remain.
    assert client.get(f"/api/v1/uploads/{uid}", headers=world.rh).get_json()["status"] == "consumed"
    assert not [k for k in set(media_store().iter_keys()) - before if k.endswith(".part")]
    # A retry with the same key: the first answer, no second case.
    again = _file_case(client, world, [uid], key="case-1")
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == case["id"]
    # A second attach without the key: a clear refusal, nothing filed.
    second = _file_case(client, world, [uid])
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "upload_consumed"
    from civic.complaints.models import Complaint

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 1


def test_attach_before_complete_is_refused_and_consumes_nothing(client, world):
    data = (PHOTOS / PHOTO).read_bytes()
    r = create(client, world.rh, len(data))
    uid = r.get_json()["id"]
    patch(client, world.rh, r.headers["Location"], 0, data[:1000])
    r = _file_case(client, world, [uid])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "upload_incomplete"
    assert r.get_json()["error"]["details"]["offset"] == 1000
    assert db.session.get(Upload, uid).status == "receiving"


def test_a_failed_form_leaves_the_upload_to_claim_again(client, world):
    uid = upload(client, world.rh, (PHOTOS / PHOTO).read_bytes())
    r = client.post("/api/v1/complaints", headers=world.rh, content_type="multipart/form-data",
                    data={"category": "no_such", "description": "噪音", "place_id": str(world.units[0].id),
                          "upload_ids": [uid]})
    assert r.status_code == 422
    db.session.expire_all()
    assert db.session.get(Upload, uid).status == "complete"
    assert _file_case(client, world, [uid]).status_code == 201


def test_another_accounts_upload_cannot_be_attached(client, world):
    _, other = world.other_resident()
    uid = upload(client, other, (PHOTOS / PHOTO).read_bytes())
    r = _file_case(client, world, [uid])
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "upload_not_found"


def test_a_scan_upload_is_a_claims_document(client, factory):
    from tests.residents.test_claims import Street

    st = Street(factory, client)
    claimant = factory.resident()
    h = factory.token(claimant)
    uid = upload(client, h, (PHOTOS / "recurser_Portrait_0.jpg").read_bytes(), kind="scan")
    r = client.post("/api/v1/my/unit-claims", headers=h, content_type="multipart/form-data",
                    data={"unit_id": str(st.u102.id), "relation": "tenant", "claimed_name": "测试居民",
                          "upload_ids": [uid]})
    assert r.status_code == 201, r.get_json()
    shown = client.get(f"/api/v1/unit-claims/{r.get_json()['id']}", headers=st.h(st.rc_staff)).get_json()
    assert shown["document_url"]
    assert client.get(shown["document_url"], headers=st.h(st.rc_staff)).status_code == 200


# --- the purge ------------------------------------------------------------------------------------

def test_the_purge_deletes_expired_uploads_and_their_pieces(client, world):
    from civic.core.db import commit
    from civic.core.storage import media_store

    before = set(media_store().iter_keys())
    old = create(client, world.rh, 1000)
    patch(client, world.rh, old.headers["Location"], 0, b"\xff\xd8\xff" + b"o" * 200)
    fresh = create(client, world.rh, 1000)
    patch(client, world.rh, fresh.headers["Location"], 0, b"\xff\xd8\xff" + b"f" * 200)
    assert len(set(media_store().iter_keys()) - before) == 2
    db.session.get(Upload, old.get_json()["id"]).expires_at = utcnow() - dt.timedelta(minutes=1)
    commit()
    assert resumable.purge_uploads(now=utcnow()) == 1
    commit()
    assert [u.id for u in db.session.scalars(sa.select(Upload))] == [fresh.get_json()["id"]]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UploadPiece)) == 1
    assert len(set(media_store().iter_keys()) - before) == 1
    from civic.core.jobs import PERIODIC

    assert PERIODIC["core.purge_uploads"].every_minutes == 60


def test_an_upload_is_the_residents_data(client, world):
    from civic.core import personal_data

    uid = upload(client, world.rh, (PHOTOS / PHOTO).read_bytes())
    mine = personal_data.export_for(world.resident.id)["uploads"]["upload.user_id"]
    assert [(u["id"], u["filename"]) for u in mine] == [(uid, PHOTO)] and "nonce" not in mine[0]


def test_a_finished_upload_is_a_contest_photo(client, factory):
    from tests.proposals.conftest import World

    w = World(factory, client)
    c = w.contest()
    uid = upload(client, w.h[w.author], (PHOTOS / "ianare_landscape_3.jpg").read_bytes())
    up = client.post("/api/v1/contest-photos", data={"upload_ids": uid}, headers=w.h[w.author],
                     content_type="multipart/form-data")
    assert up.status_code == 201, up.get_json()
    r = client.post(f"/api/v1/contests/{c['id']}/ideas", headers=w.h[w.author],
                    json={"title": "口袋花园", "text": "楼前空地种月季", "category": "绿化",
                          "photos": [up.get_json()["items"][0]["display_key"]]})
    assert r.status_code == 201, r.get_json()
    assert client.get(r.get_json()["photos"][0]["url"], headers=w.h[w.author]).status_code == 200
    # a scan upload is not an idea's photo
    scan = upload(client, w.h[w.author], (PHOTOS / "ianare_landscape_2.jpg").read_bytes(), kind="scan")
    r = client.post("/api/v1/contest-photos", data={"upload_ids": scan}, headers=w.h[w.author],
                    content_type="multipart/form-data")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "upload_kind_mismatch"


def test_a_finished_scan_upload_is_a_village_voucher(client, request):
    from tests.village.conftest import finance_body

    v = request.getfixturevalue("vil")
    r = client.post("/api/v1/villages/V-T/disclosures", json=finance_body(), headers=v["h_hua"])
    assert r.status_code == 201, r.get_json()
    did, line = r.get_json()["id"], r.get_json()["lines"][1]["id"]
    uid = upload(client, v["h_hua"], (PHOTOS / "pillow_pil123rgba.png").read_bytes(), kind="scan",
                 filename="voucher.png")
    up = client.post(f"/api/v1/village-disclosures/{did}/lines/{line}/vouchers", headers=v["h_hua"],
                     data={"upload_ids": uid}, content_type="multipart/form-data")
    assert up.status_code == 201, up.get_json()
    assert client.get(up.get_json()[0]["url"], headers=v["h_hua"]).status_code == 200
    assert db.session.get(Upload, uid).consumed_for == "village.voucher"


def test_the_scheduler_runs_the_purge_every_hour(client, world):
    from civic.core import jobs
    from civic.core.db import commit
    from tests.jobs import drain

    old = create(client, world.rh, 1000)
    patch(client, world.rh, old.headers["Location"], 0, b"\xff\xd8\xff" + b"o" * 200)
    db.session.get(Upload, old.get_json()["id"]).expires_at = utcnow() - dt.timedelta(minutes=1)
    commit()
    at = (utcnow() + dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    assert "core.purge_uploads" in jobs.tick(at)
    drain()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Upload)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UploadPiece)) == 0


# --- pieces the store fails to delete -------------------------------------------------------------

def _part_keys(store, before) -> list[str]:
    return sorted(k for k in set(store.iter_keys()) - before if k.endswith(".part"))


def _jam(store, key) -> bytes:
    """Make deleting ``key`` fail in the filesystem store, for real: the file becomes a non-empty
    directory of the same name (unlink: IsADirectoryError).  Not a read-only directory: the tests
    may run as root, which the permission bits do not stop.  Returns the bytes it held."""
    path = store.path(key)
    data = path.read_bytes()
    path.unlink()
    path.mkdir()
    (path / "x").write_bytes(b"x")
    return data


def _unjam(store, key, data: bytes) -> None:
    path = store.path(key)
    (path / "x").unlink()
    path.rmdir()
    path.write_bytes(data)


def test_a_piece_the_store_cannot_delete_is_kept_and_retried_by_the_purge(client, world):
    from civic.core.db import commit
    from civic.core.resumable import UploadOrphan
    from civic.core.storage import media_store

    store = media_store()
    before = set(store.iter_keys())
    r = create(client, world.rh, 1000)
    url, uid = r.headers["Location"], r.get_json()["id"]
    assert patch(client, world.rh, url, 0, b"\xff\xd8\xff" + b"a" * 197).status_code == 204
    assert patch(client, world.rh, url, 200, b"b" * 200).status_code == 204
    first, second = (f"{d[:2]}/{d[2:4]}/{d}.part" for d in db.session.scalars(
        sa.select(UploadPiece.digest).where(UploadPiece.upload_id == uid).order_by(UploadPiece.offset)))
    assert _part_keys(store, before) == sorted([first, second])
    held = _jam(store, first)
    db.session.get(Upload, uid).expires_at = utcnow() - dt.timedelta(minutes=1)
    commit()

    assert resumable.purge_uploads(now=utcnow()) == 1
    commit()  # the rows go; after the commit the store deletes the second piece, not the first
    assert db.session.get(Upload, uid) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UploadPiece)) == 0
    assert not store.exists(second)
    assert [(o.key, o.attempts) for o in db.session.scalars(sa.select(UploadOrphan))] == [(first, 0)]

    # The next hour: the store still fails; the key stays, with the attempt counted and the error.
    resumable.purge_uploads(now=utcnow())
    commit()
    db.session.expire_all()
    o = db.session.scalars(sa.select(UploadOrphan)).one()
    assert (o.key, o.attempts) == (first, 1) and o.last_error.startswith("IsADirectoryError")

    # The store works again (and the piece is still there): the purge deletes it and its row.
    _unjam(store, first, held)
    assert store.exists(first)
    resumable.purge_uploads(now=utcnow())
    commit()
    assert not store.exists(first)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UploadOrphan)) == 0
    assert _part_keys(store, before) == []


def test_a_terminated_uploads_pieces_the_store_refuses_are_left_to_the_purge(client, world):
    from civic.core.db import commit
    from civic.core.resumable import UploadOrphan
    from civic.core.storage import media_store

    store = media_store()
    r = create(client, world.rh, 1000)
    url, uid = r.headers["Location"], r.get_json()["id"]
    assert patch(client, world.rh, url, 0, b"\xff\xd8\xff" + b"t" * 297).status_code == 204
    (digest,) = db.session.scalars(sa.select(UploadPiece.digest).where(UploadPiece.upload_id == uid))
    key = f"{digest[:2]}/{digest[2:4]}/{digest}.part"
    held = _jam(store, key)
    assert client.delete(url, headers={**world.rh, **TUS}).status_code == 204
    assert [o.key for o in db.session.scalars(sa.select(UploadOrphan))] == [key]
    _unjam(store, key, held)
    resumable.purge_uploads(now=utcnow())
    commit()
    assert not store.exists(key)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UploadOrphan)) == 0


# --- the PATCH holds nothing while the body arrives ----------------------------------------------

class _Body(io.RawIOBase):
    """A request body that runs ``during(bytes read so far)`` before each read, as if the phone's
    next bytes were slow to come."""

    def __init__(self, data: bytes, during):
        self.data, self.at, self.during = data, 0, during

    def readable(self):
        return True

    def seekable(self):  # the test client rewinds the stream once before sending it
        return True

    def seek(self, pos, whence=0):
        self.at = {0: pos, 1: self.at + pos, 2: len(self.data) + pos}[whence]
        return self.at

    def tell(self):
        return self.at

    def readinto(self, b):
        self.during(self.at)
        n = min(len(b), len(self.data) - self.at, 4096)
        b[:n] = self.data[self.at:self.at + n]
        self.at += n
        return n


def test_a_patch_holds_no_connection_while_the_body_arrives(client, world):
    from civic.core.db import commit

    r = create(client, world.rh, 1000)
    url = r.headers["Location"]
    commit()
    seen = []
    body = b"\xff\xd8\xff" + b"c" * 597
    from flask import has_request_context

    def during(at):  # inside the PATCH's view (not the test client buffering the body beforehand)
        seen.append((has_request_context(), db.engine.pool.checkedout()))

    r = client.patch(url, input_stream=io.BufferedReader(_Body(body, during)),
                     headers={**world.rh, **TUS, "Upload-Offset": "0", "Content-Type": resumable.CONTENT_TYPE,
                              "Content-Length": str(len(body))})
    assert r.status_code == 204 and r.headers["Upload-Offset"] == "600"
    assert seen and set(seen) == {(True, 0)}  # no pooled connection checked out while reading the body


def test_an_upload_terminated_while_its_body_arrives_answers_404_and_keeps_nothing(client, world):
    """The purge or a DELETE may take the upload while a PATCH reads its body: with no transaction
    held, the deletion is not blocked (SQLite) and does not wait (PostgreSQL); the PATCH then finds
    its upload gone, answers 404, and deletes the piece it stored."""
    from civic.core.db import commit
    from civic.core.storage import media_store

    store = media_store()
    before = set(store.iter_keys())
    r = create(client, world.rh, 1000)
    url, uid = r.headers["Location"], r.get_json()["id"]
    commit()

    from flask import has_request_context

    def delete_meanwhile(at):
        assert has_request_context()  # the PATCH has passed its checks and is reading the body
        if at == 0:
            with db.engine.begin() as conn:  # another process: its own connection and transaction
                conn.execute(sa.delete(Upload).where(Upload.id == uid))

    body = b"\xff\xd8\xff" + b"d" * 297
    r = client.patch(url, input_stream=io.BufferedReader(_Body(body, delete_meanwhile)),
                     headers={**world.rh, **TUS, "Upload-Offset": "0", "Content-Type": resumable.CONTENT_TYPE,
                              "Content-Length": str(len(body))})
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "upload_not_found"
    assert _part_keys(store, before) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UploadPiece)) == 0


# --- the per-account quota (UPLOAD_MAX_OPEN, UPLOAD_MAX_OPEN_BYTES) --------------------------------

def _quota_refused(r, *, open_, open_bytes, length, max_open, max_bytes):
    assert r.status_code == 409, r.get_json()
    err = r.get_json()["error"]
    assert err["code"] == "upload_quota_exceeded" and "上传" in err["message"]
    assert err["details"] == {"open": open_, "open_bytes": open_bytes, "length": length,
                              "max_open": max_open, "max_open_bytes": max_bytes}


def test_the_defaults_let_a_case_send_nine_full_photos_and_no_more_than_ten(client, world):
    from flask import current_app

    assert current_app.config["UPLOAD_MAX_OPEN"] == 10
    assert current_app.config["UPLOAD_MAX_OPEN_BYTES"] == 200 * 1024 * 1024
    big = resumable.KINDS["photo"].max_bytes
    assert big == 20 * 1024 * 1024
    for _ in range(10):  # 200 MB declared together: exactly the cap
        assert create(client, world.rh, big).status_code == 201
    _quota_refused(create(client, world.rh, 1), open_=10, open_bytes=10 * big, length=1, max_open=10,
                   max_bytes=200 * 1024 * 1024)
    # The accounts are counted apart: another resident still opens one.
    _, other = world.other_resident()
    assert create(client, other, big).status_code == 201


def test_the_declared_bytes_are_capped_before_a_byte_is_sent(client, world, monkeypatch, app):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_OPEN_BYTES", 5000)
    assert create(client, world.rh, 3000).status_code == 201
    _quota_refused(create(client, world.rh, 2001), open_=1, open_bytes=3000, length=2001, max_open=10,
                   max_bytes=5000)
    assert create(client, world.rh, 2000).status_code == 201  # exactly the cap
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Upload)) == 2  # the refused one left no row


def test_an_unused_upload_counts_until_it_is_attached_terminated_or_expired(client, world, monkeypatch, app):
    """Both caps count uploads still receiving and uploads complete but not yet attached (each up to
    20 MB kept a day); attaching (consumed), terminating and expiry free the slot."""
    from civic.core.db import commit

    monkeypatch.setitem(app.config, "UPLOAD_MAX_OPEN", 2)
    data = (PHOTOS / PHOTO).read_bytes()
    first = create(client, world.rh, len(data)).headers["Location"]
    second = create(client, world.rh, 1000).headers["Location"]
    _quota_refused(create(client, world.rh, 1000), open_=2, open_bytes=len(data) + 1000, length=1000,
                   max_open=2, max_bytes=200 * 1024 * 1024)
    # Complete (the photo check passed) but attached to nothing: still held, still counted.
    assert patch(client, world.rh, first, 0, data).status_code == 204
    assert client.get(first, headers=world.rh).get_json()["status"] == "complete"
    _quota_refused(create(client, world.rh, 1000), open_=2, open_bytes=len(data) + 1000, length=1000,
                   max_open=2, max_bytes=200 * 1024 * 1024)
    # Attached to a case (consumed, its pieces deleted): its slot is free.
    assert _file_case(client, world, [first.rsplit("/", 1)[1]]).status_code == 201
    third = create(client, world.rh, 1000)
    assert third.status_code == 201
    _quota_refused(create(client, world.rh, 1000), open_=2, open_bytes=2000, length=1000, max_open=2,
                   max_bytes=200 * 1024 * 1024)
    # Terminated: its slot is free.
    assert client.delete(second, headers={**world.rh, **TUS}).status_code == 204
    assert create(client, world.rh, 1000).status_code == 201
    assert create(client, world.rh, 1000).status_code == 409
    # Expired (its owner can no longer end it: 410), then purged: neither counts.
    db.session.get(Upload, third.get_json()["id"]).expires_at = utcnow() - dt.timedelta(minutes=1)
    commit()
    assert create(client, world.rh, 1000).status_code == 201
    assert create(client, world.rh, 1000).status_code == 409
    assert resumable.purge_uploads(now=utcnow()) == 1
    commit()
    assert create(client, world.rh, 1000).status_code == 409  # the purge freed nothing more: it was not counted


def test_a_complete_unattached_upload_counts_against_the_bytes_until_deleted_or_expired(client, world,
                                                                                         monkeypatch, app):
    from civic.core.db import commit

    data = (PHOTOS / PHOTO).read_bytes()
    monkeypatch.setitem(app.config, "UPLOAD_MAX_OPEN_BYTES", len(data) + 500)
    done = upload(client, world.rh, data)
    assert client.get(f"/api/v1/uploads/{done}", headers=world.rh).get_json()["status"] == "complete"
    _quota_refused(create(client, world.rh, 501), open_=1, open_bytes=len(data), length=501, max_open=10,
                   max_bytes=len(data) + 500)
    small = create(client, world.rh, 500)
    assert small.status_code == 201  # exactly the cap, the complete one counted
    # Deleting the complete upload frees its bytes.
    assert client.delete(f"/api/v1/uploads/{done}", headers={**world.rh, **TUS}).status_code == 204
    big = create(client, world.rh, len(data))
    assert big.status_code == 201
    _quota_refused(create(client, world.rh, 1), open_=2, open_bytes=len(data) + 500, length=1, max_open=10,
                   max_bytes=len(data) + 500)
    # A complete one left unattached until it expired counts no more.
    for r in (small, big):
        assert client.delete(r.headers["Location"], headers={**world.rh, **TUS}).status_code == 204
    kept = upload(client, world.rh, data)
    assert create(client, world.rh, 501).status_code == 409
    db.session.get(Upload, kept).expires_at = utcnow() - dt.timedelta(minutes=1)
    commit()
    assert create(client, world.rh, 501).status_code == 201


# --- text that no database holds (the same answer on SQLite and PostgreSQL) -------------------------

@pytest.mark.parametrize("meta", [{"filename": "a\x00.jpg"}, {"filetype": "image/jpeg\x00"}, {"kind": "photo\x00"}])
def test_a_nul_in_upload_metadata_is_400_invalid_text(client, world, meta):
    r = create(client, world.rh, 1000, **meta)
    assert r.status_code == 400, r.get_json()
    err = r.get_json()["error"]
    assert err["code"] == "invalid_text"
    assert err["details"] == {"reason": "nul", "header": "Upload-Metadata", "key": next(iter(meta))}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Upload)) == 0


def test_other_control_characters_are_dropped_from_the_filename(client, world):
    r = create(client, world.rh, 1000, filename="\u202egpj.\x07photo\x1b.jpg", filetype="image/\x7fjpeg")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["filename"] == "gpj.photo.jpg"
    assert db.session.get(Upload, r.get_json()["id"]).filetype == "image/jpeg"


def test_a_nul_in_the_idempotency_key_is_400_invalid_text(client, world):
    r = client.post("/api/v1/uploads", headers={**world.rh, **TUS, "Upload-Length": "1000",
                                                "Idempotency-Key": "k\x00ey"})
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["error"]["code"] == "invalid_text"
    assert r.get_json()["error"]["details"] == {"reason": "nul", "header": "Idempotency-Key"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Upload)) == 0


@pytest.mark.parametrize("bad", ["abc%00def", "%00", "a" * 33, "ab%20cd", "ab.cd", "%E4%B8%AD"])
def test_an_upload_id_outside_the_alphabet_is_404_like_any_unknown_id(client, world, bad):
    create(client, world.rh, 1000)
    url = f"/api/v1/uploads/{bad}"
    answers = [client.get(url, headers=world.rh), client.head(url, headers={**world.rh, **TUS}),
               patch(client, world.rh, url, 0, b"x"), client.delete(url, headers={**world.rh, **TUS})]
    assert [a.status_code for a in answers] == [404] * 4
    err = answers[0].get_json()["error"]
    assert err["code"] == "upload_not_found" and err["details"] == {"upload_id": None}


# --- tus headers read strictly --------------------------------------------------------------------

@pytest.mark.parametrize("bad", [" 100", "100 ", "+5", "-1", "١٢", "１２", "1_000", "1.5", "", "9" * 16])
def test_upload_length_is_ascii_digits_only(client, world, bad):
    r = client.post("/api/v1/uploads", headers={**world.rh, **TUS, "Upload-Length": bad,
                                                "Upload-Metadata": _meta(filename="a.jpg")})
    assert r.status_code == 422, (bad, r.get_json())
    err = r.get_json()["error"]
    assert err["code"] == "validation_failed"
    assert list(err["details"]["fields"]["headers"]) == ["Upload-Length"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Upload)) == 0


@pytest.mark.parametrize("good", ["1", "0001000", "999999"])
def test_upload_length_of_ascii_digits_is_read(client, world, good):
    r = client.post("/api/v1/uploads", headers={**world.rh, **TUS, "Upload-Length": good,
                                                "Upload-Metadata": _meta(filename="a.jpg")})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["length"] == int(good)


@pytest.mark.parametrize("bad", [" 0", "0 ", "+0", "٠", "０", "-0", "0.0", "", "0" * 16])
def test_upload_offset_is_ascii_digits_only(client, world, bad):
    url = create(client, world.rh, 1000).headers["Location"]
    r = client.patch(url, data=b"\xff\xd8\xff", headers={**world.rh, **TUS, "Upload-Offset": bad,
                                                          "Content-Type": resumable.CONTENT_TYPE})
    assert r.status_code == 400, (bad, r.get_json())
    assert r.get_json()["error"]["code"] == "upload_offset_required"
    assert client.get(url, headers=world.rh).get_json()["offset"] == 0


@pytest.mark.parametrize("key", ["filename\x01", "kind\x1f", "file\x7fname", "filename\u202e", "\u200bkind"])
def test_a_metadata_key_with_a_control_character_is_400(client, world, key):
    header = f"{key} {base64.b64encode(b'a.jpg').decode()},kind {base64.b64encode(b'photo').decode()}"
    r = client.post("/api/v1/uploads", headers={**world.rh, **TUS, "Upload-Length": "1000",
                                                "Upload-Metadata": header})
    assert r.status_code == 400, r.get_json()
    err = r.get_json()["error"]
    assert err["code"] == "upload_metadata_invalid" and err["details"] == {"key": key}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Upload)) == 0
