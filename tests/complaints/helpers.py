"""Helpers for complaint tests: real messages, real photos, demo accounts."""

from __future__ import annotations

import csv
import functools

from tests.conftest import SHARED


@functools.cache
def messages() -> dict[str, dict]:
    with (SHARED / "data" / "messages_community_unlabeled.csv").open(encoding="utf-8") as f:
        return {r["id"]: r for r in csv.DictReader(f)}


def message(mid: str) -> str:
    r = messages()[mid]
    return f"{r['title']}\n{r['body']}"


def photo(name: str) -> bytes:
    return (SHARED / "photos" / name).read_bytes()


def login(client, username, password="civic-demo-2026") -> dict:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def wechat(client, code) -> dict:
    r = client.post("/api/v1/auth/wechat", json={"code": code})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def file_tuple(name: str, data: bytes | None = None):
    import io

    return (io.BytesIO(data if data is not None else photo(name)), name)


def submit(client, headers, *, category, description, photos=("ianare_portrait_6.jpg",), key=None, **fields):
    data = {"category": category, "description": description, **{k: str(v) for k, v in fields.items()}}
    data["photos"] = [file_tuple(p) if isinstance(p, str) else file_tuple(*p) for p in photos]
    h = dict(headers)
    if key:
        h["Idempotency-Key"] = key
    return client.post("/api/v1/complaints", data=data, headers=h, content_type="multipart/form-data")




# --- small worlds built with the factory (faster than the demo street) ---------------------------

CENTRE = (31.2396, 121.5058)  # WGS-84, the demo's 滨江花园 too


def square(lat, lng, half_m):
    from civic.demo import _square

    return _square(lat, lng, half_m)


STAFF_NAMES = {"street_centre": "王主任", "urban_management": "李队长", "police": "赵警官",
               "residents_committee": "陈书记", "owners_committee": "施主任", "property_company": "何客服"}


@functools.cache
def _HASH() -> str:
    from civic.accounts.service import hash_password

    return hash_password("test-pass-123")


class World:
    """district → street → community → compound (with boundaries) → building → units, the six
    parties and the street centre with one handler each, and a resident of the first unit."""

    def __init__(self, factory, *, property_company=True, centre=CENTRE, phone="13812341234"):
        from decimal import Decimal

        from civic.property import service as reg

        f = factory
        self.f = f
        lat, lng = centre
        self.district = reg.create_place(kind="district", code=f._code("D"), name="测试区")
        self.street = reg.create_place(kind="street", code=f._code("S"), name="测试街道", parent=self.district,
                                       centre=centre, boundary=square(lat, lng, 2500))
        self.community = reg.create_place(kind="community", code=f._code("CM"), name="测试社区",
                                          parent=self.street, centre=centre, boundary=square(lat, lng, 700))
        self.compound = reg.create_place(kind="compound", code=f._code("C"), name="测试花园",
                                         parent=self.community, centre=centre, boundary=square(lat, lng, 180))
        self.building = reg.create_place(kind="building", code=f._code("B"), name="测试花园1号楼",
                                         parent=self.compound)
        self.building2 = reg.create_place(kind="building", code=f._code("B"), name="测试花园2号楼",
                                          parent=self.compound)
        self.units = [reg.create_place(kind="unit", code=f._code("U"), name=f"10{i}室", parent=b,
                                       area=Decimal("88.50"), area_source="registry")
                      for i, b in enumerate([self.building, self.building, self.building2], start=1)]
        kinds = [("street_centre", self.street, "测试街道网格中心"), ("urban_management", self.street, "测试城管中队"),
                 ("police", self.community, "测试派出所"), ("residents_committee", self.community, "测试居委会"),
                 ("owners_committee", self.compound, "测试花园业委会")]
        if property_company:
            kinds.append(("property_company", self.compound, "测试物业公司"))
        from civic.accounts.identity import issue_token
        from civic.accounts.service import create_resident, create_staff

        self.orgs, self.staff, self.h = {}, {}, {}
        for kind, place, name in kinds:
            org = reg.create_organisation(kind=kind, code=f._code("O"), name=name, covers=[place])
            self.orgs[kind] = org
            self.staff[kind] = create_staff(username=f._code(kind), password_hash=_HASH(),
                                            display_name=STAFF_NAMES[kind], memberships=[(org, "handler")])
        self.resident = create_resident(display_name="张小红", phone=phone)
        reg.link_resident(self.resident, self.units[0], "owner")
        f.commit()
        for kind, user in self.staff.items():
            self.h[kind] = {"Authorization": f"Bearer {issue_token(user)[0]}"}
        self.rh = {"Authorization": f"Bearer {issue_token(self.resident)[0]}"}
        f.commit()

    def other_resident(self, unit=1, name="李四"):
        from civic.accounts.identity import issue_token
        from civic.accounts.service import create_resident
        from civic.property import service as reg

        self.f.n += 1
        u = create_resident(display_name=name, phone=f"1370000{self.f.n:04d}")
        reg.link_resident(u, self.units[unit], "owner")
        self.f.commit()
        h = {"Authorization": f"Bearer {issue_token(u)[0]}"}
        self.f.commit()
        return u, h


def jpeg(w=64, h=48, colour=(200, 80, 40), gps=None) -> bytes:
    """A small real JPEG; ``gps`` = WGS-84 (lat, lng) written as EXIF GPS (N/E)."""
    import io

    from PIL import Image

    im = Image.new("RGB", (w, h), colour)
    buf = io.BytesIO()
    if gps is None:
        im.save(buf, "JPEG")
    else:
        def dms(x):
            d = int(x)
            m = int((x - d) * 60)
            s = round(((x - d) * 60 - m) * 60, 4)
            from fractions import Fraction

            return (Fraction(d), Fraction(m), Fraction(s).limit_denominator(10000))

        exif = Image.Exif()
        exif[0x010F] = "TestCam"  # Make: must not survive either
        ifd = exif.get_ifd(0x8825)
        ifd.update({1: "N", 2: dms(gps[0]), 3: "E", 4: dms(gps[1])})
        im.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def post_case(client, headers, *, category="other", description="楼道里堆满杂物，影响通行。", photos=None,
              key=None, **fields):
    """Submit with generated photos (fast); ``photos``: list of (name, bytes)."""
    import io

    data = {"category": category, "description": description, **{k: str(v) for k, v in fields.items()}}
    photos = photos if photos is not None else [("p.jpg", jpeg())]
    data["photos"] = [(io.BytesIO(b), n) for n, b in photos]
    h = dict(headers)
    if key:
        h["Idempotency-Key"] = key
    return client.post("/api/v1/complaints", data=data, headers=h, content_type="multipart/form-data")


def act(client, headers, cid, action, **body):
    return client.post(f"/api/v1/complaints/{cid}/transitions", headers=headers, json={"action": action, **body})


def media_files(app) -> set[str]:
    from pathlib import Path

    root = Path(app.config["MEDIA_DIR"])
    return {str(p) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def audit_entries(cid, action=None):
    from civic.core import audit

    return [e for e in audit.entries_for("complaint", cid) if action is None or e.action == action]


def file_case(w, category="noise", *, now, place=None, resident=None, photos=None):
    """A case filed through the service at a chosen time (the clock seam), committed."""
    from civic.complaints.service import Intake, submit
    from civic.core.db import commit

    c = submit(resident or w.resident, Intake(category=category, description="楼上每天深夜装修，电钻声不断。",
                                              photos=photos or [("a.jpg", jpeg())],
                                              place_id=(place or w.units[0]).id), now=now).complaint
    commit()
    return c


def SHANGHAI_MIDNIGHT_SLOT():  # noqa: N802
    """The next 00:30 Beijing time after now (the daily jobs' slot), as UTC."""
    import datetime as dt

    from civic.core.db import SHANGHAI, utcnow

    local = utcnow().astimezone(SHANGHAI) + dt.timedelta(days=1)
    return local.replace(hour=0, minute=30, second=0, microsecond=0).astimezone(dt.UTC)


def new_case(client, w, category="noise", **kw) -> int:
    """File a case through the API as ``w``'s resident; its id."""
    r = post_case(client, w.rh, category=category, place_id=kw.pop("place_id", w.units[0].id), **kw)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def queue_ids(client, headers, **args) -> list[int]:
    """The case ids of one page of ``GET /api/v1/queue`` with ``args``."""
    r = client.get("/api/v1/queue", headers=headers, query_string=args)
    assert r.status_code == 200, r.get_json()
    return [c["id"] for c in r.get_json()["items"]]
