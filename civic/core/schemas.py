"""Shared marshmallow fields: whole numbers, times shown in Asia/Shanghai, Decimals as strings."""

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
