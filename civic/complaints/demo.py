"""Demo cases for the demo street, filed through the intake service as the demo residents do it
(routing, deadlines and the audit log as in real use), so the staff console has a queue to show."""

from __future__ import annotations

import io
import random

import sqlalchemy as sa

from civic.accounts.models import User
from civic.complaints import service
from civic.extensions import db
from civic.property import service as registry

CASES = [
    # resident (wechat key), unit or compound code, category, description
    ("zhang_san", "C-BJHY-1-101", "property_service", "1号楼电梯这周停了三次，物业说在报修但一直没人来修，老人上下楼很困难。"),
    ("li_si", "C-BJHY-1-102", "ebike_charging", "1号楼楼道里每天晚上都有人给电瓶车充电，电线从窗口拉进来，很危险。"),
    ("zhou_ba", "C-KC-1-101", "noise", "康城苑1号楼楼下的棋牌室每天开到凌晨两点，吵得睡不着。"),
    ("wu_jiu", "C-WTY-1-101", "waste_sorting", "梧桐苑垃圾房门口的湿垃圾桶三天没清运，气味很大。"),
]


def demo_photo(seed: int) -> bytes:
    """A generated 800×600 JPEG (a grey street scene with coloured blocks): the demo needs no
    files from outside the package, and every photo still goes through the real pipeline."""
    from PIL import Image, ImageDraw

    rnd = random.Random(seed)
    img = Image.new("RGB", (800, 600), (186, 192, 198))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 380, 800, 600), fill=(120, 124, 128))
    for _ in range(14):
        x, y = rnd.randrange(0, 720), rnd.randrange(40, 420)
        colour = tuple(rnd.randrange(40, 230) for _ in range(3))
        draw.rectangle((x, y, x + rnd.randrange(40, 160), y + rnd.randrange(30, 140)), fill=colour)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def load_demo_complaints() -> dict:
    """File the demo cases.  Returns ``{"complaints": [ids]}``.  Called by :func:`civic.demo.load_demo`."""
    ids = []
    for i, (key, place_code, category, text) in enumerate(CASES):
        resident = db.session.scalar(sa.select(User).where(User.wechat_openid == f"dev-{key}"))
        place = registry.place_by_code(place_code)
        result = service.submit(resident, service.Intake(
            category=category, description=text, photos=[(f"demo{i}.jpg", demo_photo(i))], place_id=place.id))
        ids.append(result.complaint.id)
    return {"complaints": ids}
