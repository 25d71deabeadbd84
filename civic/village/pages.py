"""The public 村务公开 page: server-rendered HTML, no login, complete without JavaScript.

Every page carries an ETag and Last-Modified taken from the village's content version (bumped on
each publication, correction, inquiry and answer) and today's Shanghai date (overdue marks change
with the date); a matching If-None-Match gets 304.  Rendered pages are kept in a small in-process
cache keyed by that same version, so a reader's request costs two indexed lookups, not a render.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from flask import Blueprint, Response, render_template, request

from civic.core import blur
from civic.core.db import to_shanghai, utcnow
from civic.core.photos import photo_response
from civic.village import service

bp = Blueprint("village_pages", __name__, url_prefix="/villages", template_folder="templates",
               static_folder="static", static_url_path="/static")

_CACHE_SIZE = 256
_cache: OrderedDict[tuple, tuple[str, bytes]] = OrderedDict()
_lock = threading.Lock()


@bp.app_template_filter("yuan")
def _yuan(fen):
    return service.fen_to_yuan(fen)


@bp.app_template_filter("shanghai")
def _shanghai(value, fmt="%Y-%m-%d %H:%M"):
    return to_shanghai(value).strftime(fmt) if value else ""


def _conditional(key: tuple, village, render) -> Response:
    version, changed_at = service.public_version(village)
    today = service.today_shanghai().isoformat()
    etag = f"v{village.id}-{version}-{today}-" + "-".join(str(k) for k in key)
    full_key = (village.id, version, today, *key)
    if request.if_none_match.contains(etag):
        resp = Response(status=304)
    else:
        with _lock:
            body = _cache.get(full_key)
            if body is not None:
                _cache.move_to_end(full_key)
        if body is None:
            body = render().encode("utf-8")
            with _lock:
                _cache[full_key] = body
                while len(_cache) > _CACHE_SIZE:
                    _cache.popitem(last=False)
        resp = Response(body, mimetype="text/html")
    resp.set_etag(etag)
    resp.last_modified = changed_at or utcnow()
    resp.headers["Cache-Control"] = "public, max-age=0, must-revalidate"
    return resp


@bp.get("/<village_code>/")
def index(village_code):
    """村务公开：按公开期和类别浏览（?year=2026&category=finance）."""
    village = service.village_by_code(village_code)
    year, category = request.args.get("year"), request.args.get("category")

    def render():
        data = service.public_index(village, year=year, category=category)
        return render_template("village/index.html", village=village, categories=service.CATEGORY_NAMES,
                               cadences=service.CADENCE_NAMES, **data)

    return _conditional(("index", year or "", category or ""), village, render)


@bp.get("/<village_code>/disclosures/<int:disclosure_id>")
def disclosure(village_code, disclosure_id):
    """一项公开内容：明细、合计、凭证、版本、查询与答复."""
    village = service.village_by_code(village_code)
    content_hash = service.public_disclosure_hash(village, disclosure_id)  # 404 for drafts, before the cache
    # Vouchers whose blurred rendition exists are shown, the others said to be in progress; the set is
    # in the cache key, so the page changes when a blur job finishes.
    shown = service.public_vouchers_shown(disclosure_id)

    def render():
        data = service.public_disclosure(village, disclosure_id)
        return render_template("village/disclosure.html", village=village, categories=service.CATEGORY_NAMES,
                               statuses=service.STATUS_NAMES, now=utcnow(), vouchers_shown=shown, **data)

    shown_key = hashlib.sha256(",".join(map(str, sorted(shown))).encode()).hexdigest()[:12]
    return _conditional(("d", disclosure_id, content_hash[:16], shown_key), village, render)


@bp.get("/<village_code>/vouchers/<int:voucher_id>.jpg")
def voucher(village_code, voucher_id):
    """Voucher image of a published disclosure (?size=thumb for the thumbnail); content-addressed."""
    v = service.public_voucher(service.village_by_code(village_code), voucher_id)
    # The public page is beyond every circle that may see the original: the blurred rendition only
    # (409 photo_blur_pending until it exists).
    display, thumb = blur.keys_for(v.display_key, v.thumb_key, original=False)
    # Revalidated on every read: a review of the blur makes a new rendition under this address.
    return photo_response(display, thumb, request.args.get("size"), public=True)
