"""Shared marshmallow fields (whole numbers, times shown in Asia/Shanghai, Decimals as strings) and the
schemas every domain shares: the query of a stored file, the review of a blurred photo."""

from __future__ import annotations

import marshmallow as ma

from civic.core.db import to_shanghai


class Integer(ma.fields.Integer):
    """marshmallow's Integer, except that a number with a fraction is refused ("须为整数") instead of
    cut: marshmallow reads a JSON ``7.5`` as 7, which would turn a juror's 7.5 into 7 or a 66.7 %
    threshold into 66 without a word.  ``7.0`` is 7; strings of digits (forms, query strings) are
    read as before; ``strict=True`` still refuses anything but a JSON integer.  Every integer field of
    civic's schemas is one of these."""

    def _validated(self, value):
        # JSON numbers with a fraction or exponent arrive as float; 1e400 is inf, which has no int.
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class JSONNumber(ma.fields.Float):
    """marshmallow's Float, except that only a JSON number is read: marshmallow reads the string
    ``"0.1"`` (and ``true``) as a number, which a JSON body never means.  Refused with "须为数字"."""

    default_error_messages = {"invalid": "须为数字"}

    def _validated(self, value):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class ShanghaiDateTime(ma.fields.DateTime):
    """An instant serialised in Asia/Shanghai with its offset, e.g. ``2026-11-29T21:53:00+08:00``."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(to_shanghai(value), attr, obj, **kwargs)


class DecimalString(ma.fields.Decimal):
    """A Decimal sent as a string ("132.17"), never a float, in plain notation (marshmallow formats
    it with ``"f"``: never ``1E+2`` or ``1E-7``).  The OpenAPI document says so for every such field:
    ``{"type": "string", "format": "decimal"}`` with the pattern ``-?digits[.digits]``
    (civic.core.api.decimal2properties)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("as_string", True)
        super().__init__(*args, **kwargs)


class MediaFileArgs(ma.Schema):
    """The query of every route serving a stored file (civic.core.media): ``?size=thumb`` for the
    thumbnail, else the display copy."""

    size = ma.fields.String(load_default=None, validate=ma.validate.OneOf(["thumb"]),
                            metadata={"description": "thumb: 缩略图"})


class BlurredMediaFileArgs(MediaFileArgs):
    """The query of a route serving a photo of a blurred kind (civic.core.blur): ``?size=thumb``, and
    ``?rendition=blurred`` for one who sees the original to get what the others see (the review
    page); ``v`` is the rendition's version, a cache key the server ignores."""

    rendition = ma.fields.String(load_default=None, validate=ma.validate.OneOf(["blurred"]),
                                 metadata={"description": "blurred: the rendition others see (the review)"})
    v = Integer(load_default=None, metadata={"description": "the rendition's version (cache key), ignored"})


# --- the review of a blurred photo (civic.core.blur.review), the same for every kind ----------------

class BlurRegionSchema(ma.Schema):
    id = ma.fields.String()
    x = ma.fields.Float(metadata={"description": "left edge, fraction 0..1 of the width"})
    y = ma.fields.Float(metadata={"description": "top edge, fraction 0..1 of the height"})
    w = ma.fields.Float()
    h = ma.fields.Float()
    kind = ma.fields.String(metadata={"description": "face | plate | manual"})
    score = ma.fields.Float()
    source = ma.fields.String(metadata={"description": "auto | manual"})
    removed = ma.fields.Boolean(metadata={"description": "a false region removed by review (kept in the record)"})


class BlurReviewSchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "pending | done | failed"})
    regions = ma.fields.List(ma.fields.Nested(BlurRegionSchema))
    blurred_at = ShanghaiDateTime(allow_none=True)
    reviewed_at = ShanghaiDateTime(allow_none=True)
    original_kept = ma.fields.Boolean()
    object_type = ma.fields.String(metadata={
        "description": "what the review is audited on: complaint | idea | action_item | village_disclosure"})
    object_id = Integer()
    photo_id = Integer(metadata={"description": "the photo's id in its domain (a case photo, a contest photo, "
                                                "a voucher); absent for an action item's photos"})
    stage = ma.fields.String(metadata={"description": "a case photo: intake | result; an action item's: "
                                                      "progress | evidence"})
    width = Integer(allow_none=True)
    height = Integer(allow_none=True)
    sees_original = ma.fields.Boolean(metadata={"description": "whether the reviewer may see the original"})
    original_url = ma.fields.String(allow_none=True, metadata={
        "description": "the photo as taken (null for a reviewer who sees only the blurred rendition)"})
    blurred_url = ma.fields.String(metadata={"description": "the blurred rendition others see, this version"})


class BlurRegionInSchema(ma.Schema):
    # JSON numbers only (a string is 422 here); a box too small to blur anything (w or h under
    # civic.core.blur.MIN_REGION, 0 included) is 422 ``blur_region_invalid`` from add_region.
    x = JSONNumber(required=True, validate=ma.validate.Range(min=0, max=1))
    y = JSONNumber(required=True, validate=ma.validate.Range(min=0, max=1))
    w = JSONNumber(required=True, validate=ma.validate.Range(min=0, max=1))
    h = JSONNumber(required=True, validate=ma.validate.Range(min=0, max=1))
