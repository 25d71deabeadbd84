"""审核打码 in the console for every kind it serves (civic.console.blur_review.register_review_pages),
through the Flask test client, on the demo street.

A sweep over the console's review pages (found in the URL map: a new one fails here until it has a
case in :data:`SECTIONS`): for each, a photo of its kind whose blur is done; its reviewer opens the
page (the back link names the photo's object), adds a region through the page's form and removes it
through the row's form (each a 303 back to the page; audited on the object, ``photo_blur.region_added``
then ``photo_blur.region_removed``); staff outside the section get its 403 page, staff who see the
photo but do not review it 403 ``blur_review_not_allowed``, staff who may not see it the kind's 404,
and none of them changes the record.  The page in a real browser: test_browser_blur.py.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape

import pytest
import sqlalchemy as sa

from civic.demo import DEMO_PASSWORD
from civic.extensions import db
from tests.blur_helpers import run_blur_jobs
from tests.console.helpers import Console
from tests.shared import PHOTOS


@dataclass
class Section:
    page: str  # the review page of one photo
    reviewer: str  # the username of one the kind's reviewer rule admits
    refused: list[tuple[str, int, str]]  # (username, status, error code) of staff refused, each
    audit_object: tuple[str, int]  # what the review is audited on
    back: str  # the back link's words


def _case_photo(app, factory) -> Section:
    from civic.complaints.models import Complaint, ComplaintPhoto

    case_id = db.session.scalars(sa.select(Complaint.id).order_by(Complaint.id)).first()
    token = db.session.scalars(sa.select(ComplaintPhoto.access_token).where(
        ComplaintPhoto.complaint_id == case_id).order_by(ComplaintPhoto.id)).first()
    # 施主任 leads it (the owners' committee: the case is about 世茂物业); the street centre oversees it
    # (sees the case, reviews nothing); 钱警官's station is elsewhere (may not see it).
    return Section(f"/console/cases/{case_id}/photos/{token}/blur", "oc_bj_shi",
                   [("sc_wang", 403, "blur_review_not_allowed"), ("ps_qian", 404, "complaint_not_found")],
                   ("complaint", case_id), f"← 返回案件 #{case_id}")


def _idea_with_photo(app, factory):
    """张三 submits an idea with a photo to the demo street's contest: ``(client, his headers, the
    idea as he gets it)``; it waits for moderation."""
    from civic.accounts.models import User
    from civic.proposals.contests.models import Contest

    client = app.test_client()
    author = factory.token(db.session.scalar(sa.select(User).where(User.wechat_openid == "dev-zhang_san")))
    contest = db.session.scalar(sa.select(Contest.id).where(Contest.theme == "绿化提升金点子"))
    photo = (io.BytesIO((PHOTOS / "ianare_landscape_3.jpg").read_bytes()), "garden.jpg")
    up = client.post("/api/v1/contest-photos", data={"photos": [photo]}, headers=author,
                     content_type="multipart/form-data")
    assert up.status_code == 201, up.json
    idea = client.post(f"/api/v1/contests/{contest}/ideas", headers=author, json={
        "title": "中心花园增设休息长椅", "text": "沿步道增设带靠背的长椅。", "category": "休憩设施",
        "photos": [up.json["items"][0]["display_key"]]})
    assert idea.status_code == 201, idea.json
    return client, author, idea


def _contest_photo(app, factory) -> Section:
    from civic.accounts.models import User

    client, _, idea = _idea_with_photo(app, factory)
    moderator = factory.token(db.session.scalar(sa.select(User).where(User.username == "rc_bj_zhou")))
    approved = client.post(f"/api/v1/moderation/idea/{idea.json['id']}/decisions", json={"action": "approve"},
                           headers=moderator)
    assert approved.status_code == 200, approved.json
    token = idea.json["photos"][0]["url"].rsplit("/", 1)[1]
    # 周社工 moderates for the organiser; the street centre may use the section and sees the approved
    # idea's photo, but moderates for another organisation; a property company has no moderation section.
    return Section(f"/console/moderation/contest-photos/{token}/blur", "rc_bj_zhou",
                   [("sc_wang", 403, "blur_review_not_allowed"), ("pc_sm_sun", 403, "section_forbidden")],
                   ("idea", idea.json["id"]), f"← 返回金点子 #{idea.json['id']}")


def _voucher(app, factory) -> Section:
    from civic.village.models import Voucher

    voucher = db.session.scalars(sa.select(Voucher).order_by(Voucher.id)).first()
    did = voucher.line.disclosure_id
    # 华村主任 (the village committee) reviews; the supervision committee sees the original and
    # reviews nothing; an owners' committee has no village section.
    return Section(f"/console/village/disclosures/{did}/vouchers/{voucher.access_token}/blur", "vc_xf_hua",
                   [("vs_xf_jin", 403, "blur_review_not_allowed"), ("oc_bj_shi", 403, "section_forbidden")],
                   ("village_disclosure", did), f"← 返回公开事项 #{did}")


SECTIONS: dict[str, Callable[..., Section]] = {
    "console.cases_blur": _case_photo,
    "console.moderation_photo_blur": _contest_photo,
    "console.village_voucher_blur": _voucher,
}


def test_every_review_page_of_the_console_has_a_case(app):
    pages = {rule.endpoint for rule in app.url_map.iter_rules()
             if rule.rule.startswith("/console/") and rule.rule.endswith("/blur")}
    assert pages == set(SECTIONS)
    for endpoint in pages:  # each with its two forms, which go back to it
        methods = {rule.endpoint: rule.methods for rule in app.url_map.iter_rules()}
        assert "POST" in methods[endpoint + "_add"] and "POST" in methods[endpoint + "_remove"]


def _trail(object_type: str, object_id: int) -> list[str]:
    from civic.core.audit import AuditEntry

    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id),
        AuditEntry.action.like("photo_blur.%")).order_by(AuditEntry.id)))


def _record():
    from civic.core.blur import PhotoBlur

    db.session.expire_all()
    return [(r.id, r.regions, r.blurred_display_key, r.reviewed_by)
            for r in db.session.scalars(sa.select(PhotoBlur).order_by(PhotoBlur.id))]


def _manual(html: str) -> list[tuple[str, str, str | None]]:
    """The page's hand-drawn regions: ``(region id, position cell, remove form's action or None)``."""
    rows = re.findall(r'<tr data-region="([^"]+)"[^>]*>(.*?)</tr>', html, re.S)
    out = []
    for region, row in rows:
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        if cells[1].strip() == "手动":
            action = re.search(r'<form method="post" action="([^"]+)"', row)
            out.append((region, cells[2].strip(), unescape(action.group(1)) if action else None))
    return out


@pytest.mark.parametrize("endpoint", sorted(SECTIONS))
def test_each_review_page_is_its_reviewers_alone(endpoint, app, factory, demo_with_cases):
    section = SECTIONS[endpoint](app, factory)
    run_blur_jobs()
    reviewer = Console(app, section.reviewer, DEMO_PASSWORD)

    shown = reviewer.get(section.page)
    assert shown.status_code == 200, shown.text
    assert re.search(r'id="blur-back">([^<]+)<', shown.text).group(1) == section.back
    assert _manual(shown.text) == []
    add = unescape(re.search(r'<form method="post" id="add-region" action="([^"]+)"', shown.text).group(1))
    assert add == section.page + "/regions"

    added = reviewer.post(add, data={"x": "10", "y": "20", "w": "30", "h": "15"})
    assert added.status_code == 303 and added.headers["Location"] == section.page
    [(region, where, remove)] = _manual(reviewer.get(section.page).text)
    assert where == "10.0, 20.0, 30.0 × 15.0" and remove == f"{section.page}/regions/{region}/remove"
    assert _trail(*section.audit_object) == ["photo_blur.region_added"]

    record = _record()
    for username, status, code in section.refused:
        other = Console(app, username, DEMO_PASSWORD)
        for r in (other.get(section.page), other.post(add, data={"x": "50", "y": "50", "w": "20", "h": "20"}),
                  other.post(remove)):
            assert r.status_code == status and f"错误代码：{code}" in r.text, (username, r.status_code)
    assert _record() == record

    removed = reviewer.post(remove)
    assert removed.status_code == 303 and removed.headers["Location"] == section.page
    assert _manual(reviewer.get(section.page).text) == [(region, "10.0, 20.0, 30.0 × 15.0", None)]  # 已删除（误报）
    assert _trail(*section.audit_object) == ["photo_blur.region_added", "photo_blur.region_removed"]


def test_the_moderation_page_says_a_photo_is_in_progress_until_it_is_blurred(app, factory, demo_with_cases):
    """A moderator sees an idea's photos blurred (the original is the author's): before the blur job
    the page links no image (its address would answer 409 ``photo_blur_pending``) and says it is in
    progress; after it, the thumbnail is the blurred rendition's, served to the moderator's session."""
    client, author, idea = _idea_with_photo(app, factory)
    token = idea.json["photos"][0]["url"].rsplit("/", 1)[1]
    moderator = Console(app, "rc_bj_zhou", DEMO_PASSWORD)
    page = f"/console/moderation/idea/{idea.json['id']}"

    before = moderator.get(page)
    assert before.status_code == 200, before.text
    assert f'data-photo="{token}">照片打码处理中' in before.text
    assert f"/api/v1/contest-photos/{token}" not in before.text
    assert moderator.get(f"/api/v1/contest-photos/{token}?size=thumb").status_code == 409

    run_blur_jobs()
    after = moderator.get(page)
    thumb = f"/api/v1/contest-photos/{token}?size=thumb"
    assert f'<img src="{thumb}"' in after.text and "打码处理中" not in after.text
    served = moderator.get(thumb)
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    author_copy = client.get(thumb, headers=author)
    assert author_copy.status_code == 200 and author_copy.data != served.data  # the author's is the original
