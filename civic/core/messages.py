"""marshmallow's validation messages in Chinese.

The error envelope's ``message`` is always Chinese; its ``details.fields`` carry marshmallow's
per-field messages, which the mini-program shows beside the field and the console names in its
forms.  marshmallow keeps its default messages on the field and validator classes
(``default_error_messages``, ``Length.message_min``, ...); :func:`use_chinese` replaces them once
per process with the Chinese below, keeping their ``{placeholders}``.  Messages a schema sets itself
are left as they are.
"""

from __future__ import annotations

import marshmallow as ma
import marshmallow.validate as mv

FIELD_MESSAGES: dict[type, dict[str, str]] = {
    ma.fields.Field: {"required": "必填项", "null": "不能为空", "validator_failed": "取值无效"},
    ma.fields.String: {"invalid": "须为文本", "invalid_utf8": "须为有效的 UTF-8 文本"},
    ma.fields.Number: {"invalid": "须为数字", "too_large": "数值过大"},
    ma.fields.Integer: {"invalid": "须为整数"},
    ma.fields.Decimal: {"special": "不接受 NaN 或无穷大"},
    ma.fields.Float: {"special": "不接受 NaN 或无穷大"},
    ma.fields.Boolean: {"invalid": "须为 true 或 false"},
    ma.fields.List: {"invalid": "须为列表"},
    ma.fields.Tuple: {"invalid": "须为列表"},
    ma.fields.Mapping: {"invalid": "须为对象"},
    ma.fields.Nested: {"type": "须为对象"},
    ma.fields.Date: {"invalid": "须为日期（YYYY-MM-DD）", "format": "“{input}”无法写成日期"},
    ma.fields.DateTime: {"invalid": "须为 ISO 8601 日期时间", "invalid_awareness": "须带时区",
                         "format": "“{input}”无法写成日期时间"},
    ma.fields.Time: {"invalid": "须为时间（HH:MM）"},
    ma.fields.TimeDelta: {"invalid": "须为时长"},
    ma.fields.Email: {"invalid": "须为有效的电子邮箱"},
    ma.fields.URL: {"invalid": "须为有效的网址"},
    ma.fields.UUID: {"invalid_uuid": "须为有效的 UUID"},
    ma.fields.Enum: {"unknown": "须为以下之一：{choices}"},
}
SCHEMA_MESSAGES = {"type": "须为 JSON 对象", "unknown": "不允许的字段"}
VALIDATOR_MESSAGES: dict[type, dict[str, str]] = {
    mv.Length: {"message_min": "至少 {min} 个字符（项）", "message_max": "最多 {max} 个字符（项）",
                "message_all": "长度须在 {min} 至 {max} 之间", "message_equal": "长度须为 {equal}"},
    mv.Range: {"message_min": "须{min_op} {{min}}", "message_max": "须{max_op} {{max}}",
               "message_all": "须{min_op} {{min}} 且{max_op} {{max}}",
               "message_gte": "大于或等于", "message_gt": "大于", "message_lte": "小于或等于", "message_lt": "小于"},
    mv.OneOf: {"default_message": "须为以下之一：{choices}"},
    mv.ContainsOnly: {"default_message": "所选项须在以下范围内：{choices}"},
    mv.Regexp: {"default_message": "格式不符"},
    mv.Equal: {"default_message": "须等于 {other}"},
    mv.NoneOf: {"default_message": "取值无效"},
}


def use_chinese() -> None:
    """Replace marshmallow's default messages with :data:`FIELD_MESSAGES`, :data:`SCHEMA_MESSAGES`
    and :data:`VALIDATOR_MESSAGES` (idempotent; called by ``create_app``)."""
    for cls, messages in FIELD_MESSAGES.items():
        # Each class's own dict: marshmallow merges them along the MRO when a field is made.
        cls.default_error_messages = {**cls.__dict__.get("default_error_messages", {}), **messages}
    ma.Schema._default_error_messages = {**ma.Schema._default_error_messages, **SCHEMA_MESSAGES}
    for cls, attrs in VALIDATOR_MESSAGES.items():
        for name, text in attrs.items():
            setattr(cls, name, text)
