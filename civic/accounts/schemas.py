"""Request and response shapes for identity endpoints."""

from __future__ import annotations

import marshmallow as ma

from civic.core.schemas import Integer, ShanghaiDateTime


class LoginSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256), load_only=True)


class WechatLoginSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=128),
                            metadata={"description": "wx.login() 返回的 code"})


class OtpRequestSchema(ma.Schema):
    phone = ma.fields.String(required=True, validate=ma.validate.Length(min=11, max=20))


class OtpVerifySchema(ma.Schema):
    phone = ma.fields.String(required=True, validate=ma.validate.Length(min=11, max=20))
    code = ma.fields.String(required=True, validate=ma.validate.Length(min=4, max=8))


class PasswordChangeSchema(ma.Schema):
    old_password = ma.fields.String(required=True, load_only=True)
    new_password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(max=256))


class MembershipSchema(ma.Schema):
    organisation_id = Integer()
    organisation_name = ma.fields.String()
    organisation_kind = ma.fields.String()
    role = ma.fields.String()


class UnitTieSchema(ma.Schema):
    unit_id = Integer()
    unit_name = ma.fields.String()
    relation = ma.fields.String(metadata={"description": "owner / co_owner / tenant"})


class MeSchema(ma.Schema):
    id = Integer()
    kind = ma.fields.String(metadata={"description": "resident / staff / admin"})
    display_name = ma.fields.String()
    phone_masked = ma.fields.String(allow_none=True, metadata={"description": "如 138****1234"})
    memberships = ma.fields.List(ma.fields.Nested(MembershipSchema))
    units = ma.fields.List(ma.fields.Nested(UnitTieSchema))


class TokenSchema(ma.Schema):
    token = ma.fields.String(metadata={"description": "Bearer 令牌，仅此一次返回"})
    expires_at = ShanghaiDateTime()
    created = ma.fields.Boolean(metadata={"description": "是否新建了账号"})
    user = ma.fields.Nested(MeSchema)


class OtpSentSchema(ma.Schema):
    expires_at = ShanghaiDateTime()


class ProfileEditSchema(ma.Schema):
    display_name = ma.fields.String(validate=ma.validate.Length(min=1, max=100),
                                    metadata={"description": "显示的姓名（更正，PIPL 第 46 条）"})


class AccountDeleteSchema(ma.Schema):
    confirm = ma.fields.String(required=True, validate=ma.validate.Equal("注销账号"),
                               metadata={"description": "须为“注销账号”：确认注销（不可撤回）"})


class MyDataSchema(ma.Schema):
    generated_at = ma.fields.String(metadata={"description": "导出时间（ISO 8601）"})
    parts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict(),
                           metadata={"description": "各业务提供的个人信息：account、registry、complaints、"
                                                    "voting、contests、deliberation、moderation、village"})
