"""审核打码 in the console, the same pages for every blurred kind (civic.core.blur.review): a section
(cases, moderation, village) calls :func:`register_review_pages` for its kind, and the pages find the
photo through the core, which applies the kind's reviewer rule (404 for who may not see it, 403
``blur_review_not_allowed`` for who may see but not review)."""

from __future__ import annotations

from collections.abc import Callable

from flask import render_template, request, url_for

from civic.console.blueprint import bp, see_other, staff_page
from civic.core import blur
from civic.core.errors import ValidationFailed


def box_from_form(form) -> dict[str, float]:
    """The region the form names: ``x``, ``y``, ``w``, ``h`` in percent of the photo's width and
    height, as the fractions the core takes.

    :raises ValidationFailed: ``blur_region_invalid`` (not a number; the core checks the range)."""
    try:
        return {k: float(form.get(k, "")) / 100 for k in ("x", "y", "w", "h")}
    except ValueError as exc:
        raise ValidationFailed("请输入 0 到 100 之间的百分比", code="blur_region_invalid") from exc


def page(review: dict, *, subject: str, back_url: str, others: str, add: str, remove: str, **values):
    """The review page (``console/blur_review.html``).

    :param subject: what the photo belongs to, as the back link names it ("案件 #12").
    :param others: who sees only the blurred photo, for the page's explanation.
    :param add: the endpoint adding a region; ``remove`` the one removing one (given ``region_id``);
        ``values`` the arguments both take.
    """
    return render_template("console/blur_review.html", r=review, subject=subject, back_url=back_url, others=others,
                           add_url=url_for(add, **values),
                           remove_url=lambda region_id: url_for(remove, region_id=region_id, **values))


def register_review_pages(kind, rule: str, endpoint: str, *, staff_kinds: tuple[str, ...] = (), subject: str,
                          others: str, back: Callable[[int], str]) -> None:
    """Register the review of ``kind``'s blur (a blurred :class:`civic.core.media.MediaKind` with a
    ``reviewer``) in the console, under ``rule``, the photo's address there
    (``"/cases/<int:complaint_id>/photos/<token>"``):

    * ``GET  rule/blur`` (endpoint ``endpoint``): the page (:func:`page`);
    * ``POST rule/blur/regions`` (``endpoint + "_add"``): a region from the form (:func:`box_from_form`);
    * ``POST rule/blur/regions/<region_id>/remove`` (``endpoint + "_remove"``): a false region removed;

    each POST then back to the page (303).  The URL's arguments are passed to the kind's reviewer as
    they come (``complaint_id=``, ``token=``).

    :param staff_kinds: the organisation kinds whose staff may open the section's pages at all
        (:func:`civic.console.blueprint.staff_page`; none: any staff).
    :param subject: what the photo belongs to, named with the object's id on the back link (``"案件"``:
        "案件 #12"); ``back`` that object's page, given its id (the review's ``object_id``).
    :param others: who sees only the blurred photo, for the page's explanation.
    """
    names = {"add": f"{endpoint}_add", "remove": f"{endpoint}_remove"}

    @staff_page(*staff_kinds)
    def show(user, **where):
        """审核照片打码：打码后的照片与区域，手动增加区域、删除误报（均留痕，记在照片所属的对象上）。"""
        review = blur.review(kind, user, **where)
        return page(review, subject=f"{subject} #{review['object_id']}", others=others,
                    back_url=back(review["object_id"]), add=f"{bp.name}.{names['add']}",
                    remove=f"{bp.name}.{names['remove']}", **where)

    @staff_page(*staff_kinds)
    def add(user, **where):
        """增加打码区域：x、y、宽、高（占照片宽高的百分比）。"""
        blur.review_add_region(kind, user, box_from_form(request.form), **where)
        return see_other(f"{bp.name}.{endpoint}", **where)

    @staff_page(*staff_kinds)
    def remove(user, region_id, **where):
        """删除误报的打码区域。"""
        blur.review_remove_region(kind, user, region_id, **where)
        return see_other(f"{bp.name}.{endpoint}", **where)

    bp.add_url_rule(f"{rule}/blur", endpoint, show, methods=["GET"])
    bp.add_url_rule(f"{rule}/blur/regions", names["add"], add, methods=["POST"])
    bp.add_url_rule(f"{rule}/blur/regions/<region_id>/remove", names["remove"], remove, methods=["POST"])
