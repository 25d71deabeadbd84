"""Issue #19 point 3, with a real client: ``tuspy`` uploads a 10 MB photo through a loopback proxy
that cuts the connection after every 1 MiB sent; the upload resumes after each cut and completes,
and the server reads at most one piece more per cut than the file holds (counted by the server,
from the request bodies it read).  Then the upload files a case.

Two ways a client may send: in pieces of 256 KiB each with its sha1 (a cut piece cannot be checked
and is sent again: at most one piece per cut), and the whole rest in one PATCH without a checksum
(tuspy's default: the server keeps every byte that arrived, so nothing is sent twice).
"""

from __future__ import annotations

import io

import pytest

from tests.browser import served
from tests.link import BodyCounter, DroppingProxy
from tests.shared import PHOTOS

tusclient = pytest.importorskip("tusclient.client")

MB = 1024 * 1024


def ten_megabyte_photo() -> bytes:
    """A real photo (ianare_gps_DSCN0010.jpg, with its EXIF GPS block) at 4400×3300, quality 100:
    just over 10 MB, as a phone's high-resolution mode makes."""
    from PIL import Image

    im = Image.open(PHOTOS / "ianare_gps_DSCN0010.jpg")
    buf = io.BytesIO()
    im.resize((4400, 3300)).save(buf, "JPEG", quality=100, subsampling=0, exif=im.info["exif"])
    data = buf.getvalue()
    assert 10 * MB <= len(data) <= 12 * MB, len(data)
    return data


@pytest.mark.parametrize("mode", ["sha1 pieces of 256 KiB", "whole rest per PATCH, no checksum"])
def test_a_tus_client_resumes_through_a_dropping_link_and_files_a_case(app, client, factory, mode):
    from tests.complaints.helpers import World

    w = World(factory)
    data = ten_megabyte_photo()
    counter = BodyCounter(app)
    piece = 256 * 1024 if mode.startswith("sha1") else None
    with served(counter) as base:
        proxy = DroppingProxy(int(base.rsplit(":", 1)[1]), drop_every=MB)
        try:
            tus = tusclient.TusClient(f"{proxy.url}/api/v1/uploads", headers=dict(w.rh))
            options = {"chunk_size": piece, "upload_checksum": True} if piece else {}
            # tuspy counts retries per PATCH: one PATCH of the whole rest meets every drop.  A phone
            # waits a moment before it retries: the cut PATCH is still storing what arrived, and a
            # resume sent before that ends meets 409 upload_offset_mismatch (then asks again).
            uploader = tus.uploader(file_stream=io.BytesIO(data), metadata={"filename": "DSCN0010.jpg",
                                                                             "kind": "photo"},
                                    retries=40, retry_delay=0.2, **options)
            uploader.upload()
        finally:
            proxy.close()
    drops, received = proxy.drops, counter.received
    resent = received - len(data)
    print(f"\n{mode}: {len(data)} bytes, {drops} drops, the server read {received} body bytes, "
          f"{resent} re-sent ({resent / max(drops, 1) / 1024:.0f} KiB per drop)")
    assert drops >= 9  # about one per MiB of the 10 MB
    if piece:
        assert 0 <= resent <= drops * piece  # at most one piece again per drop
    else:
        assert resent == 0  # every byte that arrived was kept
    upload_id = uploader.url.rsplit("/", 1)[1]
    got = client.get(f"/api/v1/uploads/{upload_id}", headers=w.rh).get_json()
    assert got["status"] == "complete" and got["offset"] == got["length"] == len(data)
    r = client.post("/api/v1/complaints", headers={**w.rh, "Idempotency-Key": f"tus-{upload_id}"},
                    content_type="multipart/form-data",
                    data={"category": "illegal_construction", "description": "楼顶有人在搭建彩钢板房，正在施工。",
                          "place_id": str(w.units[0].id), "upload_ids": upload_id})
    assert r.status_code == 201, r.get_json()
    photo = client.get(r.get_json()["photos"][0]["url"], headers=w.rh)
    from PIL import Image

    im = Image.open(io.BytesIO(photo.data))
    assert im.size == (2048, 1536) and not im.getexif()  # the pipeline's display copy, metadata gone
