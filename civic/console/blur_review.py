"""审核打码 in the console, the same page for every blurred kind (civic.core.blur.review): the page's
rendering and the form's box; each domain's views (cases, moderation, village) find the photo through
the core, which applies the kind's reviewer rule (404 for who may not see it, 403
``blur_review_not_allowed`` for who may see but not review)."""

from __future__ import annotations

from flask import render_template, url_for

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
