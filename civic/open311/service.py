"""The verbs of Open311: partner keys, the service list, filing and reading service requests.

Everything about a case — checks, photo pipeline, routing, deadlines, duplicates, privacy — is
civic.complaints.service; this module only translates GeoReport v2 (RULES.md §3, §5).

Who is the complainant of a partner's case?  The partner's system account (kind ``partner``, one
per partner name, created with its first key): a partner is an organisation passing a resident's
report on, not a resident, so it is never shown as one, never owns a unit and never logs in.  The
person's contact details the partner sends (first_name, last_name, phone, email) are kept as the
case's complainant contact (complaints.ComplaintContact): masked and shown only to the parties
the routing table allows, exactly like a resident's, and never returned through Open311.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from functools import cache
from importlib import resources

import sqlalchemy as sa
from flask import current_app

from civic.complaints import service as complaints
from civic.complaints.suggest import category_names, load_categories
from civic.core import audit, parts
from civic.core.db import parse_id, to_shanghai, utcnow
from civic.core.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.text import tidy
from civic.extensions import db
from civic.open311.media import fetch_media
from civic.open311.models import PartnerKey, PartnerRequest

parts.register(parts.Part(
    "open311_media_loopback", "OPEN311_MEDIA_ALLOW_LOOPBACK_FOR_TESTS",
    development={True: "lets a partner's media_url reach this machine's loopback addresses"}))

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-29"
# civic's states → Open311's two (a merged case is closed here: it lives on in the case it joined).
CLOSED_STATUSES = ("resolved", "closed", "merged")
# GET requests: GeoReport v2 lets a server limit what a query returns and says start_date/end_date
# default to the last 90 days; the page size is the page/page_size extension many Open311 servers
# offer (Chicago's: page_size up to 500).  So a read is a range of the index on created_at, whatever
# the number of cases stored (issue #21 point 3): at most MAX_OFFSET + MAX_PAGE_SIZE index entries.
DEFAULT_WINDOW = dt.timedelta(days=90)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_OFFSET = 10_000  # further back: narrow end_date to the oldest requested_datetime already read
MAX_RESULTS = MAX_PAGE_SIZE  # service_request_id lists
MAX_MEDIA_HOSTS = 20
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


# --- partner keys (admin) -----------------------------------------------------------------------

def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _require_admin(user) -> None:
    if user.kind != "admin":
        raise Forbidden("仅管理员可管理 Open311 合作方", code="wrong_account_kind")


def issue_key(admin, partner_name: str, media_hosts: list[str]) -> tuple[PartnerKey, str]:
    """Issue an api_key to a partner organisation; returns ``(row, key)`` — the key is shown this
    once and stored only as its SHA-256.  The partner's system account is created with its first
    key and shared by later ones.  ``media_hosts``: host names (no scheme, port or path) civic may
    fetch a media_url from.
    :raises Forbidden: ``wrong_account_kind``.  :raises ValidationFailed: ``text_required``,
        ``media_hosts_invalid``.
    """
    from civic.accounts.service import create_partner_account
    from civic.core.text import require_text

    _require_admin(admin)
    name = require_text(partner_name, "partner_name", 100)
    hosts = [h.strip().lower().rstrip(".") for h in media_hosts if h and h.strip()]
    bad = [h for h in hosts if not _HOST.match(h)]
    if bad or len(hosts) > MAX_MEDIA_HOSTS:
        raise ValidationFailed("media_hosts 须为主机名（不含协议、端口和路径），最多 20 个",
                               code="media_hosts_invalid", details={"invalid": bad, "max": MAX_MEDIA_HOSTS})
    existing = db.session.scalar(sa.select(PartnerKey).where(PartnerKey.partner_name == name).limit(1))
    user_id = existing.user_id if existing else create_partner_account(display_name=name).id
    key = "o311_" + secrets.token_urlsafe(32)
    row = PartnerKey(partner_name=name, key_prefix=key[:12], key_hash=_hash(key),
                     media_hosts=list(dict.fromkeys(hosts)), user_id=user_id, created_by=admin.id)
    db.session.add(row)
    db.session.flush()
    audit.record("open311.key_issued", "open311_partner_key", row.id, actor=admin,
                 data={"partner_name": name, "media_hosts": row.media_hosts})
    return row, key


def list_keys(admin) -> list[PartnerKey]:
    _require_admin(admin)
    return list(db.session.scalars(sa.select(PartnerKey).order_by(PartnerKey.id)))


def revoke_key(admin, key_id: int) -> PartnerKey:
    """Revoke a key at once (its next request gets 403).
    :raises NotFound: ``partner_key_not_found``.  :raises Conflict: ``already_revoked``."""
    _require_admin(admin)
    row = db.session.get(PartnerKey, key_id)
    if row is None:
        raise NotFound("找不到该合作方密钥", code="partner_key_not_found", details={"id": key_id})
    if row.revoked_at is not None:
        raise Conflict("该密钥已吊销", code="already_revoked")
    row.revoked_at = utcnow()
    db.session.flush()
    audit.record("open311.key_revoked", "open311_partner_key", row.id, actor=admin,
                 data={"partner_name": row.partner_name})
    return row


def authenticate(api_key: str | None) -> PartnerKey:
    """The live key for ``api_key``.  :raises Forbidden: ``api_key_invalid`` (missing, unknown or
    revoked — one answer for all three)."""
    row = db.session.scalar(sa.select(PartnerKey).where(PartnerKey.key_hash == _hash(api_key))) if api_key else None
    if row is None or row.revoked_at is not None:
        raise Forbidden("api_key 缺失、无效或已吊销", code="api_key_invalid")
    return row


def _partner_user(key: PartnerKey):
    from civic.accounts.models import User

    return db.session.get(User, key.user_id)


# --- services ----------------------------------------------------------------------------------

@cache
def _service_data() -> dict:
    text = resources.files("civic.open311").joinpath("data/services.json").read_text(encoding="utf-8")
    return json.loads(text)["services"]


def _public_attribute(a: dict) -> dict:
    out = {k: a.get(k) for k in ("variable", "code", "datatype", "required", "datatype_description", "order",
                                 "description")}
    if a.get("values"):
        out["values"] = [{"key": v["key"], "name": v["name"]} for v in a["values"]]
    return out


def services() -> list[dict]:
    """Every complaint category as an Open311 service (glossary id, Chinese name)."""
    keywords = load_categories()["categories"]
    data = _service_data()
    return [{"service_code": code, "service_name": name, "description": data.get(code, {}).get("description"),
             "metadata": bool(data.get(code, {}).get("attributes")), "type": "realtime",
             "keywords": ", ".join(list(keywords.get(code, {}).get("keywords", {}))[:6]) or None,
             "group": data.get(code, {}).get("group")}
            for code, name in category_names().items()]


def service_definition(service_code: str) -> dict:
    """:raises NotFound: ``service_code_not_found``."""
    if service_code not in category_names():
        raise NotFound(f"service_code {service_code} 不存在", code="service_code_not_found")
    attrs = _service_data().get(service_code, {}).get("attributes", [])
    return {"service_code": service_code, "attributes": [_public_attribute(a) for a in attrs]}


def _check_attributes(service_code: str, given: dict[str, list[str]]) -> tuple[dict, dict, list[str]]:
    """Validate attribute[CODE] answers → (answers, Intake field values, description lines)."""
    defs = {a["code"]: a for a in _service_data().get(service_code, {}).get("attributes", [])}
    unknown = sorted(set(given) - set(defs))
    if unknown:
        raise BadRequest(f"该服务没有这些属性：{', '.join(unknown)}", code="attribute_unknown")
    answers, fields, lines = {}, {}, []
    for code, a in sorted(defs.items(), key=lambda kv: kv[1].get("order") or 0):
        values = [v.strip() for v in given.get(code, []) if v and v.strip()]
        if not values:
            if a["required"]:
                raise BadRequest(f"缺少必填属性 attribute[{code}]（{a['description']}）", code="attribute_required")
            continue
        if a["datatype"] != "multivaluelist" and len(values) > 1:
            raise BadRequest(f"attribute[{code}] 只能有一个值", code="attribute_invalid")
        keys = {v["key"]: v["name"] for v in a.get("values", [])}
        if keys and any(v not in keys for v in values):
            raise BadRequest(f"attribute[{code}] 的取值须为：{', '.join(keys)}", code="attribute_invalid")
        if a["datatype"] == "number" and not re.fullmatch(r"-?\d+(\.\d+)?", values[0]):
            raise BadRequest(f"attribute[{code}] 须为数字", code="attribute_invalid")
        if a["datatype"] in ("string", "text", "number", "datetime") and len(values[0]) > 200:
            raise BadRequest(f"attribute[{code}] 过长", code="attribute_invalid")
        answers[code] = values if a["datatype"] == "multivaluelist" else values[0]
        if a.get("maps_to") == "urgent":
            fields["urgent"] = values[0] == "true"
        if a.get("maps_to") == "category_detail":  # noise by its source (issue #18: its own routing rule)
            fields["category_detail"] = values[0]
        if a.get("label"):
            shown = "、".join(keys.get(v, v) for v in values)
            lines.append(f"{a['label']}：{shown}")
    return answers, fields, lines


# --- requests ----------------------------------------------------------------------------------

def _float(value: str, name: str, low: float, high: float) -> float:
    try:
        f = float(value)
    except ValueError as exc:
        raise BadRequest(f"{name} 须为数字", code="location_invalid") from exc
    if not low <= f <= high:
        raise BadRequest(f"{name} 超出范围", code="location_invalid")
    return f


def _contact(form: dict) -> complaints.PartnerContact:
    def field(name: str, max_len: int) -> str | None:
        value = tidy(form.get(name) or "")
        if len(value) > max_len:
            raise BadRequest(f"{name} 过长（最多 {max_len} 字）", code="contact_invalid")
        return value or None

    first, last = field("first_name", 50), field("last_name", 50)
    cjk = any("\u4e00" <= ch <= "\u9fff" for ch in (first or "") + (last or ""))
    # Chinese names are family name first, written together; others "first last".
    parts = (last, first) if cjk else (first, last)
    name = ("" if cjk else " ").join(p for p in parts if p)
    return complaints.PartnerContact(display_name=name or None, phone=field("phone", 30), email=field("email", 200))


def create_request(api_key: str | None, form: dict, attributes: dict[str, list[str]],
                   files: list[tuple[str, bytes]]) -> dict:
    """POST requests: file a case for the partner holding ``api_key``, exactly as a resident's.

    ``form``: service_code, lat+long (WGS-84) or address_id (a civic unit, building or compound
    id) — address_string alone cannot be placed, it is kept as the case's address text —,
    description (≤ 4,000 字), first_name, last_name, phone, email, media_url.  ``attributes``:
    ``{code: [values]}`` from attribute[CODE].  ``files``: the multipart photo parts.
    :returns: the request as :func:`request_view` shows it to its partner.
    :raises Forbidden: ``api_key_invalid``.  :raises NotFound: ``service_code_not_found``.
    :raises BadRequest: ``service_code_required``, ``attribute_*``, ``location_*``, ``media_*`` and,
        through complaints.service, every intake error (photos_required, text_too_long, ...).
    """
    key = authenticate(api_key)
    code = (form.get("service_code") or "").strip()
    if not code:
        raise BadRequest("缺少 service_code", code="service_code_required")
    service_definition(code)  # 404 for an unknown code
    answers, fields, lines = _check_attributes(code, attributes)
    place_id = lat = lng = None
    if form.get("address_id"):
        place_id = parse_id(str(form["address_id"]).strip())
        if place_id is None:
            raise BadRequest("address_id 须为 civic 的户、楼或小区编号", code="location_invalid")
    has_lat, has_long = bool(form.get("lat")), bool(form.get("long"))
    if has_lat != has_long:
        raise BadRequest("lat 和 long 须同时提供", code="location_incomplete")
    if has_lat:
        lat, lng = _float(form["lat"], "lat", -90, 90), _float(form["long"], "long", -180, 180)
    address = tidy(form.get("address_string") or "") or None
    if address and len(address) > 300:
        raise BadRequest("address_string 过长（最多 300 字）", code="location_invalid")
    if place_id is None and lat is None:
        raise BadRequest("须提供 lat/long 或 address_id（civic 的户、楼或小区编号）；仅有 address_string 无法确定处置单位",
                         code="location_required")
    description = form.get("description") or ""
    if len(description) > complaints.MAX_DESCRIPTION:
        raise BadRequest(f"description 最多 {complaints.MAX_DESCRIPTION} 字", code="text_too_long")
    if lines:
        description = description.rstrip() + "\n" + "\n".join(lines)
    contact = _contact(form)
    media_url = (form.get("media_url") or "").strip() or None
    photos = list(files)
    if media_url:
        if len(media_url) > 2000:
            raise BadRequest("media_url 过长", code="media_url_invalid")
        cfg = current_app.config
        photos.append(("media_url", fetch_media(
            media_url, key.media_hosts, max_bytes=cfg["OPEN311_MEDIA_MAX_BYTES"],
            timeout=cfg["OPEN311_MEDIA_TIMEOUT_SECONDS"],
            allow_loopback=bool(cfg["OPEN311_MEDIA_ALLOW_LOOPBACK_FOR_TESTS"]))))
    partner = _partner_user(key)
    result = complaints.submit_on_behalf(partner, complaints.Intake(
        category=code, description=description, photos=photos, place_id=place_id, lat=lat, lng=lng,
        datum="wgs84" if lat is not None else None, address=address, urgent=fields.get("urgent", False),
        category_detail=fields.get("category_detail")),
        contact)
    c = result.complaint
    db.session.add(PartnerRequest(complaint_id=c.id, partner_key_id=key.id, attributes=answers, media_url=media_url))
    db.session.flush()
    audit.record("open311.request", "complaint", c.id, actor=partner,
                 data={"partner_key_id": key.id, "duplicates": [d["id"] for d in result.duplicates]})
    return request_views(complaints.public_cases(ids=[c.id]), reader=partner)[0]


def _media_url(path: str) -> str:
    from flask import request

    return f"{request.host_url.rstrip('/')}/open311/v2/media/{path}.jpg"


def media_file(request_id: int, token: str, size: str | None = None) -> str:
    """The store key of a request's public photo (the blurred rendition; ``size="thumb"`` its
    thumbnail).  :raises NotFound: ``photo_not_found``.  :raises Conflict: ``photo_blur_pending``."""
    display, thumb = complaints.public_photo(request_id, token)
    return thumb if size == "thumb" else display


def _w3(value: dt.datetime | None) -> str | None:
    return to_shanghai(value).isoformat(timespec="seconds") if value else None


def request_views(cases: list[dict], reader=None) -> list[dict]:
    """Public-safe case dicts (complaints.service.public_cases) → Open311 request records.  The
    description goes back only to the partner that filed the case (``reader``)."""
    names = category_names()
    own = complaints.descriptions_filed_by(reader, [c["id"] for c in cases]) if reader is not None else {}
    photos = complaints.public_photo_paths([c["id"] for c in cases])
    out = []
    for c in cases:
        closed = c["status"] in CLOSED_STATUSES
        notice = f"已派单至{c['lead_name']}" if c["lead_name"] else None
        out.append({
            "service_request_id": str(c["id"]),
            "status": "closed" if closed else "open",
            "status_notes": c["note"],
            "service_name": names.get(c["category"], c["category"]),
            "service_code": c["category"],
            "description": own.get(c["id"]),
            "agency_responsible": c["lead_name"],
            "service_notice": notice,
            "requested_datetime": _w3(c["created_at"]),
            "updated_datetime": _w3(c["closed_at"] if closed and c["closed_at"] else c["updated_at"]),
            "expected_datetime": _w3(c["resolve_due"]),
            "address": c["address"],
            "address_id": str(c["place_id"]) if c["place_id"] else None,
            "zipcode": None,
            "lat": c["lat"],
            "long": c["lng"],
            # The first intake photo with faces and plates blurred, once that rendition exists; the
            # original is never public (issue #19).
            "media_url": _media_url(photos[c["id"]]) if c["id"] in photos else None,
        })
    return out


def _parse_w3(value: str, name: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise BadRequest(f"{name} 须为 W3C 日期时间，如 2026-01-01T00:00:00+08:00", code="date_invalid") from exc
    if when.tzinfo is None:
        raise BadRequest(f"{name} 须带时区（Z 或 +08:00）", code="date_invalid")
    return when


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _reader(api_key: str | None):
    return _partner_user(authenticate(api_key)) if api_key else None


def list_requests(args: dict) -> list[dict]:
    """GET requests: ``service_request_id`` (comma list of at most 500; overrides the rest),
    ``service_code`` (comma list), ``start_date``/``end_date`` (W3C with offset; by default the last
    90 days, never more than 90 days: GeoReport v2's default window), ``status`` (open, closed),
    ``page_size`` (1-500, default 50) and ``page`` (from 1; ``page × page_size`` at most 10,500), newest
    first.  Past the 10,500th of a window, ask for ``end_date`` = the oldest ``requested_datetime``
    read so far.  With an ``api_key`` the partner also gets back the descriptions of its own requests.
    :raises BadRequest: ``request_id_invalid``, ``service_code_unknown``, ``date_invalid``,
        ``date_range_invalid``, ``status_invalid``, ``page_invalid``.  :raises Forbidden: ``api_key_invalid``.
    """
    reader = _reader(args.get("api_key"))
    ids = _split(args.get("service_request_id"))
    if ids:
        parsed = [parse_id(i) for i in ids]
        if None in parsed or len(parsed) > MAX_RESULTS:
            raise BadRequest(f"service_request_id 须为数字，逗号分隔，最多 {MAX_RESULTS} 个", code="request_id_invalid")
        return request_views(complaints.public_cases(ids=parsed, limit=MAX_RESULTS), reader)
    page, page_size = _paging(args)
    codes = _split(args.get("service_code"))
    unknown = [c for c in codes if c not in category_names()]
    if unknown:
        raise BadRequest(f"未知的 service_code：{', '.join(unknown)}", code="service_code_unknown")
    start = _parse_w3(args["start_date"], "start_date") if args.get("start_date") else None
    end = _parse_w3(args["end_date"], "end_date") if args.get("end_date") else None
    if start is None and end is None:
        end = utcnow()
    if start is None:
        start = end - DEFAULT_WINDOW
    if end is None:
        end = start + DEFAULT_WINDOW
    if end < start or end - start > DEFAULT_WINDOW:
        raise BadRequest("start_date 须早于 end_date，且跨度不超过 90 天", code="date_range_invalid")
    wanted = _split(args.get("status"))
    if any(s not in ("open", "closed") for s in wanted):
        raise BadRequest("status 须为 open 或 closed", code="status_invalid")
    statuses = None
    if wanted and set(wanted) != {"open", "closed"}:
        statuses = CLOSED_STATUSES if wanted[0] == "closed" else tuple(
            s for s in complaints.STATUS_NAMES if s not in CLOSED_STATUSES)
    return request_views(complaints.public_cases(categories=codes or None, since=start, until=end,
                                                 statuses=statuses, limit=page_size,
                                                 offset=(page - 1) * page_size), reader)


def _paging(args: dict) -> tuple[int, int]:
    """``(page, page_size)`` from the query's ``page``/``page_size``.  :raises BadRequest: ``page_invalid``."""
    page, size = parse_id(args.get("page") or "1"), parse_id(args.get("page_size") or str(DEFAULT_PAGE_SIZE))
    if size is None or not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequest(f"page_size 须为 1 到 {MAX_PAGE_SIZE} 的整数", code="page_invalid")
    if page is None or page < 1 or (page - 1) * size > MAX_OFFSET:
        raise BadRequest(f"page 须为从 1 起的整数，且 (page - 1) × page_size 不超过 {MAX_OFFSET}；"
                         "更早的请求请把 end_date 设为已读到的最早 requested_datetime", code="page_invalid")
    return page, size


def get_request(service_request_id: str, api_key: str | None = None) -> list[dict]:
    """GET requests/{id}: a one-item list.  :raises NotFound: ``request_not_found``."""
    reader = _reader(api_key)
    request_id = parse_id(service_request_id)
    if request_id is None:
        raise NotFound("找不到该服务请求", code="request_not_found")
    found = complaints.public_cases(ids=[request_id], limit=1)
    if not found:
        raise NotFound("找不到该服务请求", code="request_not_found")
    return request_views(found, reader)


def discovery(base_url: str) -> dict:
    cfg = current_app.config
    return {"changeset": CHANGESET, "contact": cfg["OPEN311_CONTACT"],
            "key_service": "由 civic 管理员签发（/api/v1/open311/partners）",
            "endpoints": [{"specification": SPEC_URL, "url": base_url, "changeset": CHANGESET,
                           "type": "production", "formats": ["text/xml", "application/json"]}]}
