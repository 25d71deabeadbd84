"""Fixtures for deliberation: a community with a lane, its residents' committee (convener, head and
moderator), a lane committee of six current members (one more whose term ended), residents of the
lane and one outsider; helpers to raise topics and hold a meeting that started an hour ago."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from civic.core.db import commit, utcnow
from civic.extensions import db
from civic.proposals.deliberation import service as svc
from tests.shared import PHOTOS


def photo(name: str = "ianare_landscape_2.jpg") -> tuple[str, bytes]:
    return name, (PHOTOS / name).read_bytes()


class World:
    def __init__(self, factory, client):
        from civic.property import service as reg

        self.factory, self.client = factory, client
        lad = factory.ladder()
        self.ladder = lad
        self.unit1, self.unit2 = lad["units"]
        self.lane = reg.create_place(kind="lane", code=factory._code("L"), name="测试路18弄", parent=lad["community"])
        self.rc = factory.org("residents_committee", [lad["community"]], name="测试居委会")
        self.head = self.staff(self.rc, "head")
        self.mod = self.staff(self.rc, "moderator")
        self.pc = factory.org("property_company", [lad["compound"]], name="测试物业")
        self.pc_staff = self.staff(self.pc, "handler")
        self.members = [self.resident(self.unit1) for _ in range(6)]
        self.chair, self.secretary = self.members[0], self.members[1]
        self.former = self.resident(self.unit1)
        self.residents = [self.resident(self.unit2) for _ in range(5)]
        self.outsider = factory.resident(units=[factory.ladder()["units"][0]])
        self.committee = svc.create_committee(self.head, {
            "kind": "lane_committee", "name": "测试路18弄弄管会", "place_id": self.lane.id,
            "organisation_id": self.rc.id, "rules": {"cosign_required": 3, "cosign_days": 30, "notice_days": 3}})
        today = utcnow().date()
        roles = ["chair", "secretary", "member", "member", "member", "member"]
        groups = ["residents", "residents", "shops", "property_company", "street_office", "residents"]
        for u, role, grp in zip(self.members, roles, groups, strict=True):
            svc.add_member(self.head, self.committee.id, {"user_id": u.id, "role": role, "speaks_for": grp,
                                                          "term_start": today - dt.timedelta(days=400)})
        svc.add_member(self.head, self.committee.id, {
            "user_id": self.former.id, "role": "member", "speaks_for": "residents",
            "term_start": today - dt.timedelta(days=800), "term_end": today - dt.timedelta(days=30)})
        commit()

    def resident(self, unit):
        """A resident of ``unit``, committed with the rest of the world (one commit, not one each)."""
        from civic.accounts.service import create_resident
        from civic.property import service as reg

        self.factory.n += 1
        user = create_resident(display_name="测试居民", phone=f"137{self.factory.n:08d}")
        reg.link_resident(user, unit, "owner")
        return user

    def staff(self, org, role):
        """Staff without a password hash: these tests log in by token, and scrypt costs half a second."""
        from civic.accounts.service import create_staff

        return create_staff(username=self.factory._code("staff"), password_hash="!", display_name="测试员",
                            memberships=[(org, role)])

    def h(self, user) -> dict:
        return self.factory.token(user)

    def topic(self, by=None, **extra):
        t = svc.raise_topic(by or self.chair, self.committee.id, {
            "title": "弄堂口增设电动自行车充电桩", "text": "弄堂里电动车飞线充电，建议在弄堂口增设充电桩。", **extra})
        commit()
        return t

    def meeting(self, topics, start_ago=dt.timedelta(hours=1)):
        """A meeting called 20 days ago (its 3-day notice over even past a holiday) that started ``start_ago`` ago."""
        now = utcnow()
        m = svc.convene(self.secretary, self.committee.id, {
            "title": "弄管会例会", "starts_at": now - start_ago, "location": "弄堂活动室",
            "topic_ids": [t.id for t in topics]}, now=now - dt.timedelta(days=20))
        commit()
        return m

    def attend(self, m, users):
        for u in users:
            svc.mark_attendance(self.secretary, m.id, u.id)
        commit()

    def vote(self, motion, agree=0, oppose=0, abstain=0):
        voters = iter(self.members)
        for choice, n in (("agree", agree), ("oppose", oppose), ("abstain", abstain)):
            for _ in range(n):
                svc.cast(next(voters), motion.id, choice)
        commit()

    def passed_resolution(self):
        """A lane topic co-signed onto a meeting's agenda, a motion passed 5:1, and its resolution."""
        t = self.topic(by=self.residents[0])
        for u in self.residents[1:4]:
            svc.cosign(u, t.id)
        m = self.meeting([t])
        self.attend(m, self.members)
        mo = svc.open_motion(self.secretary, m.id, t.id, "请物业在弄堂口增设4个充电桩")
        commit()
        self.vote(mo, agree=5, oppose=1)
        svc.close_motion(self.secretary, mo.id)
        commit()
        return svc.resolution_of(mo.id)

    def action_item_with_photo(self, photo: str = "ianare_portrait_5.jpg") -> tuple:
        """A passed resolution's action item for the property company, made through the API, and the
        company's first progress update with one real photo (``../shared/photos/<photo>``).
        Returns ``(the resolution, the item's id, the update's JSON)``."""
        import io

        resolution = self.passed_resolution()
        r = self.client.post(f"/api/v1/resolutions/{resolution.id}/action-items", headers=self.h(self.secretary),
                             json={"title": "弄堂口安装4个充电桩", "organisation_id": self.pc.id,
                                   "due_on": "2027-01-31"})
        assert r.status_code == 201, r.json
        up = self.client.post(f"/api/v1/action-items/{r.json['id']}/updates", headers=self.h(self.pc_staff),
                              data={"note": "已完成选址", "photos": [(io.BytesIO((PHOTOS / photo).read_bytes()), photo)]},
                              content_type="multipart/form-data")
        assert up.status_code == 201, up.json
        return resolution, r.json["id"], up.json


@pytest.fixture
def world(factory, app):
    return World(factory, app.test_client())


@pytest.fixture
def resolution(world):
    """A lane topic co-signed onto a meeting's agenda, a motion passed 5:1, and its resolution."""
    return world.passed_resolution()


def notifications(kind: str | None = None) -> list:
    from civic.core.notifications import Notification

    stmt = sa.select(Notification).order_by(Notification.id)
    if kind:
        stmt = stmt.where(Notification.template == kind)
    return list(db.session.scalars(stmt))


def audit_actions(object_type: str, object_id: int) -> list[str]:
    from civic.core.audit import AuditEntry

    return list(db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id)).order_by(AuditEntry.id)))
