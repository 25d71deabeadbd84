"""The blur review's REST routes, made once for every blurred kind (:mod:`civic.core.blur`, issue
#19).  HTTP only.

A domain whose :class:`civic.core.media.MediaKind` is ``blurred`` and has a ``reviewer`` calls
:func:`register_review_routes` on its blueprint, where its routes are; the three routes hang under the
photo's own address (the kind's ``route``), as ``tests/foundation/test_blur_sweep.py`` checks:

* ``GET    …/blur``: the review (:func:`civic.core.blur.review`);
* ``POST   …/blur/regions``: a region added by hand (:func:`civic.core.blur.review_add_region`), 201;
* ``DELETE …/blur/regions/<region_id>``: a false region removed
  (:func:`civic.core.blur.review_remove_region`).

The rule of who reviews is the kind's ``reviewer``; the domain gives only the words of the documentation
(who reviews, what the review is audited on, its 404 codes), so each keeps its own Chinese summary.
"""

from __future__ import annotations

from flask.views import MethodView

from civic.core import blur
from civic.core.api import Blueprint
from civic.core.auth import current_actor, require
from civic.core.schemas import BlurRegionInSchema, BlurReviewSchema

__all__ = ["register_review_routes"]


def register_review_routes(blp: Blueprint, kind, *, endpoint: str, reviewer: str, audited_on: str,
                           not_reviewer: str, not_found: tuple[str, ...], viewer: str | None = None,
                           photo: str = "照片", add_note: str = "",
                           account_kinds: tuple[str, ...] = ("resident", "staff", "admin")) -> None:
    """Register the three review routes of ``kind`` (a blurred :class:`civic.core.media.MediaKind` with a
    ``reviewer``) on ``blp``, under the kind's ``route`` less the blueprint's ``url_prefix``.  The URL's
    arguments are passed to the kind's reviewer as they come (``complaint_id=``, ``token=``).  Call it
    where the domain declares its other routes: the URL map keeps their order.

    :param endpoint: the view names: ``endpoint`` (GET ``…/blur``), ``endpoint + "Regions"`` (POST),
        ``endpoint + "Region"`` (DELETE), e.g. ``"ComplaintPhotoBlur"``; they name the endpoints.
    :param reviewer: who reviews, in the summaries (``"主办方"``); ``viewer`` in the GET's summary
        where it says more (``"征集主办方的审核人员"``); ``photo`` what the photo is (``"凭证照片"``);
        ``add_note`` a note for the POST's summary (``"已公开的凭证也可"``).
    :param audited_on: what the review is audited on, in English (``"the case"``).
    :param not_reviewer: who gets 403 ``blur_review_not_allowed``, in English (``"not the lead party"``).
    :param not_found: the kind's 404 codes for one who may not see the photo (``("photo_not_found",)``).
    :param account_kinds: the accounts the routes admit at all (others: 403 ``wrong_account_kind``).
    :raises ValueError: ``kind`` has no review, or its route is not under the blueprint (programming errors).
    """
    if not kind.blurred or kind.reviewer is None:
        raise ValueError(f"media kind {kind.name!r} has no blur review")
    prefix = blp.url_prefix or ""
    if not kind.route.startswith(prefix + "/"):
        raise ValueError(f"media kind {kind.name!r}: {kind.route} is not under {prefix}")
    rule = kind.route[len(prefix):] + "/blur"
    hidden = ", ".join(f"``{code}``" for code in not_found)

    def get(self, **where):
        return blur.review(kind, current_actor(), **where)

    get.__doc__ = f"""{viewer or reviewer}查看{photo}的自动打码（人脸、车牌区域）

        Errors: 403 ``blur_review_not_allowed`` ({not_reviewer});
        404 {hidden} (may not see it), ``photo_blur_not_found``.
        """

    def post(self, data, **where):
        return blur.review_add_region(kind, current_actor(), data, **where)

    post.__doc__ = f"""{reviewer}手动增加打码区域（重新生成打码照片，留痕{"；" + add_note if add_note else ""}）

        Body: x, y, w, h as fractions 0..1 of the photo's width and height.
        Audited on {audited_on} (``photo_blur.region_added``).
        Errors: 403 ``blur_review_not_allowed``; 404 {hidden}, ``photo_blur_not_found``;
        409 ``photo_blur_pending`` (detection not run yet), ``photo_blur_failed`` (detection failed:
        queued again by this request), ``photo_original_deleted``; 422 ``blur_region_invalid`` (a box
        outside the photo or under 0.002 of its width or height), the schema's 422 for a non-number.
        """

    def delete(self, region_id, **where):
        return blur.review_remove_region(kind, current_actor(), region_id, **where)

    delete.__doc__ = f"""{reviewer}删除误报的打码区域（重新生成打码照片，留痕）

        Audited on {audited_on} (``photo_blur.region_removed``).
        Errors: 403 ``blur_review_not_allowed``; 404 {hidden}, ``photo_blur_not_found``, ``blur_region_not_found``;
        409 ``photo_blur_pending``, ``photo_blur_failed`` (queued again), ``photo_original_deleted``,
        ``photo_blur_shared`` (another domain holds the same photo: a region can be added, not removed).
        """

    # require outermost, as on every route: a wrong account kind is refused before the body is read.
    allowed = require(*account_kinds)
    views = [
        (rule, endpoint, "get", allowed(blp.response(200, BlurReviewSchema)(get))),
        (rule + "/regions", endpoint + "Regions", "post",
         allowed(blp.arguments(BlurRegionInSchema)(blp.response(201, BlurReviewSchema)(post)))),
        (rule + "/regions/<region_id>", endpoint + "Region", "delete",
         allowed(blp.response(200, BlurReviewSchema)(delete))),
    ]
    for url, name, method, view in views:
        blp.add_url_rule(url, name, type(name, (MethodView,), {method: view}))
