"""Request and response shapes for identity endpoints."""

from __future__ import annotations

import marshmallow as ma

from civic.core.pagination import page_schema
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
    must_change_password = ma.fields.Boolean(metadata={
        "description": "须先修改初始密码：在此之前除修改密码、/me 与注销外的请求均返回 403 password_change_required"})
    memberships = ma.fields.List(ma.fields.Nested(MembershipSchema))
    units = ma.fields.List(ma.fields.Nested(UnitTieSchema))


class TokenSchema(ma.Schema):
    token = ma.fields.String(metadata={"description": "Bearer 令牌，仅此一次返回"})
    expires_at = ShanghaiDateTime()
    created = ma.fields.Boolean(metadata={"description": "是否新建了账号"})
    user = ma.fields.Nested(MeSchema)


class OtpSentSchema(ma.Schema):
    expires_at = ShanghaiDateTime()


# --- staff accounts and their roles (civic.accounts.staff) -------------------------------------------

ROLE_DESCRIPTION = "head（负责人）/ handler（经办人）/ moderator（审核员）/ viewer（查看）"


class StaffSchema(ma.Schema):
    id = Integer()
    username = ma.fields.String()
    display_name = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "staff / admin"})
    active = ma.fields.Boolean(metadata={"description": "false：已停用，不能登录"})
    disabled_at = ShanghaiDateTime(allow_none=True)
    must_change_password = ma.fields.Boolean(metadata={"description": "须在下次登录时修改初始密码"})
    memberships = ma.fields.List(ma.fields.Nested(MembershipSchema))


class StaffListArgs(ma.Schema):
    organisation_id = Integer(metadata={"description": "只列出该组织的工作人员（须为其管理者）"})
    include_disabled = ma.fields.Boolean(load_default=True)
    cursor = ma.fields.String(load_default=None, metadata={"description": "上一页返回的 next_cursor"})
    limit = Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


class StaffCreateSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    display_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    organisation_id = Integer(required=True)
    role = ma.fields.String(load_default="handler", validate=ma.validate.Length(max=20),
                            metadata={"description": ROLE_DESCRIPTION})


class StaffEditSchema(ma.Schema):
    display_name = ma.fields.String(validate=ma.validate.Length(max=200))


class OneTimePasswordSchema(ma.Schema):
    staff = ma.fields.Nested(StaffSchema)
    one_time_password = ma.fields.String(metadata={
        "description": "一次性初始密码，仅此一次返回；本人首次登录后须修改"})


class MemberSchema(ma.Schema):
    user_id = Integer()
    username = ma.fields.String()
    display_name = ma.fields.String()
    role = ma.fields.String(metadata={"description": ROLE_DESCRIPTION})
    active = ma.fields.Boolean()
    must_change_password = ma.fields.Boolean()


class MemberListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MemberSchema))


class MembershipAddSchema(ma.Schema):
    user_id = Integer(required=True)
    role = ma.fields.String(load_default="handler", validate=ma.validate.Length(max=20),
                            metadata={"description": ROLE_DESCRIPTION})


class MembershipRoleSchema(ma.Schema):
    role = ma.fields.String(required=True, validate=ma.validate.Length(max=20),
                            metadata={"description": ROLE_DESCRIPTION})


class StaffMoveSchema(ma.Schema):
    from_organisation_id = Integer(required=True)
    to_organisation_id = Integer(required=True)
    role = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=20),
                            metadata={"description": "在新组织的角色；缺省为原角色。" + ROLE_DESCRIPTION})


StaffPageSchema = page_schema(StaffSchema)


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
