"""Follow-up: action items with a responsible organisation, progress photos, overdue flags at 01:30
Asia/Shanghai, closing with evidence; followers are told."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

from civic.core import jobs
from civic.core.db import commit, utcnow
from civic.extensions import db
from civic.proposals.deliberation import service as svc
from tests.jobs import drain
from tests.proposals.deliberation.conftest import notifications, photo


def item(world, resolution, due_on=None):
    a = svc.add_action_item(world.secretary, resolution.id, {
        "title": "弄堂口安装4个充电桩", "organisation_id": world.pc.id,
        "due_on": due_on or utcnow().date() + dt.timedelta(days=30)})
    commit()
    return a


def test_action_item_over_http(world, resolution):
    r = world.client.post(f"/api/v1/resolutions/{resolution.id}/action-items", headers=world.h(world.secretary),
                          json={"title": "弄堂口安装4个充电桩", "organisation_id": world.pc.id, "due_on": "2027-01-31"})
    assert r.status_code == 201 and (r.json["state"], r.json["due_on"], r.json["overdue"]) == ("open", "2027-01-31", False)


def test_the_convening_committees_staff_may_add_action_items_others_may_not(world, resolution):
    # the residents' committee that convened the lane committee carries out its resolutions (a budget
    # round it organises sets a funded resolution's milestones); a property company's staff, a
    # member who is no officer, and a resident may not
    body = {"title": "座椅采购", "organisation_id": world.rc.id, "due_on": "2027-02-28"}
    url = f"/api/v1/resolutions/{resolution.id}/action-items"
    for who in (world.pc_staff, world.members[3], world.residents[0]):
        r = world.client.post(url, headers=world.h(who), json=body)
        assert r.status_code == 403 and r.json["error"]["code"] in ("not_an_officer", "wrong_account_kind"), r.json
    assert svc.action_items(resolution.id) == []
    r = world.client.post(url, headers=world.h(world.head), json=body)
    assert r.status_code == 201 and r.json["title"] == "座椅采购"


def test_progress_update_with_a_photo(world, resolution):
    a = item(world, resolution)
    name, data = photo()
    r = world.client.post(f"/api/v1/action-items/{a.id}/updates", headers=world.h(world.pc_staff),
                          data={"note": "已完成选址", "photos": [(io.BytesIO(data), name)]},
                          content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    assert r.json["note"] == "已完成选址" and len(r.json["photos"]) == 1 and r.json["photos"][0]["width"] > 0


def test_outside_organisation_cannot_report(world, resolution):
    a = item(world, resolution)
    r = world.client.post(f"/api/v1/action-items/{a.id}/updates", headers=world.h(world.residents[2]),
                          data={"note": "我来报"}, content_type="multipart/form-data")
    assert r.status_code == 403 and r.json["error"]["code"] == "not_responsible"


def test_closing_needs_a_photo(world, resolution):
    a = item(world, resolution)
    r = world.client.post(f"/api/v1/action-items/{a.id}/close", headers=world.h(world.pc_staff),
                          data={"note": "已安装"}, content_type="multipart/form-data")
    assert r.status_code == 422 and r.json["error"]["code"] == "evidence_required"
    assert a.state == "open"


def test_closing_with_evidence_tells_followers(world, resolution):
    a = item(world, resolution)
    name, data = photo("ianare_portrait_5.jpg")
    r = world.client.post(f"/api/v1/action-items/{a.id}/close", headers=world.h(world.pc_staff),
                          data={"note": "4个充电桩已安装并通电", "photos": [(io.BytesIO(data), name)]},
                          content_type="multipart/form-data")
    assert r.status_code == 200, r.json
    assert (r.json["state"], r.json["evidence_note"], len(r.json["evidence_photos"])) == ("closed", "4个充电桩已安装并通电", 1)
    assert {n.user_id for n in notifications("action_item_closed")} == {u.id for u in world.residents[:4]}


def test_overdue_flagged_by_the_0130_job(world, resolution):
    a = item(world, resolution, due_on=dt.date(2026, 3, 1))
    item(world, resolution, due_on=dt.date(2026, 3, 2))
    at = dt.datetime(2026, 3, 2, 1, 30, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(dt.UTC)
    ran = jobs.tick(at)
    commit()
    drain()  # with Redis the tick hands the job to RQ
    db.session.expire_all()
    assert "deliberation_overdue" in ran
    db_items = svc.action_items(resolution.id)
    assert [(x.id == a.id, x.overdue) for x in db_items] == [(True, True), (False, False)]
    assert {n.user_id for n in notifications("action_item_overdue")} == {world.chair.id, world.secretary.id}


def test_action_photos_in_a_response_tell_the_poster_their_blur_state(world, resolution, app):
    """The responsible organisation took the photos and sees them as taken; an officer posting for it
    (the committee's secretary) sees what the topic's readers see: no address until the blurred
    rendition exists (issue #19), then the blurred rendition's."""
    from tests.blur_helpers import run_blur_jobs

    a = item(world, resolution)

    def post(path, who, name):
        r = world.client.post(f"/api/v1/action-items/{a.id}/{path}", headers=world.h(who),
                              data={"note": "已完成选址", "photos": [(io.BytesIO(photo(name)[1]), name)]},
                              content_type="multipart/form-data")
        assert r.status_code in (200, 201), r.json
        return r.json

    (own,) = post("updates", world.pc_staff, "ianare_landscape_2.jpg")["photos"]
    assert own["blur_status"] == "original" and own["thumbnail_url"] == own["url"] + "?size=thumb"
    assert world.client.get(own["url"], headers=world.h(world.pc_staff)).status_code == 200
    (theirs,) = post("close", world.secretary, "ianare_portrait_5.jpg")["evidence_photos"]
    assert theirs == {"url": None, "thumbnail_url": None, "width": theirs["width"], "height": theirs["height"],
                      "blur_status": "pending"}
    assert theirs["width"] > 0 and theirs["height"] > 0

    run_blur_jobs()
    (after,) = svc.action_item_view(world.secretary, db.session.get(type(a), a.id))["evidence_photos"]
    assert after["blur_status"] == "blurred"
    served = world.client.get(after["url"], headers=world.h(world.secretary))
    assert served.status_code == 200
    assert served.data != world.client.get(after["url"], headers=world.h(world.pc_staff)).data  # not the original
