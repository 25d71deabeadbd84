"""Shared marshmallow fields: times shown in Asia/Shanghai, Decimals as strings."""

from __future__ import annotations

import marshmallow as ma

from civic.core.db import to_shanghai


class ShanghaiDateTime(ma.fields.DateTime):
    """An instant serialised in Asia/Shanghai with its offset, e.g. ``2026-11-29T21:53:00+08:00``."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(to_shanghai(value), attr, obj, **kwargs)


class DecimalString(ma.fields.Decimal):
    """A Decimal sent as a string ("132.17"), never a float."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("as_string", True)
        super().__init__(*args, **kwargs)
