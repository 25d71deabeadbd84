"""Staff accounts and their roles: ``/api/v1/staff`` and ``/api/v1/organisations/{id}/memberships``.
HTTP only: each view calls one function of :mod:`civic.accounts.staff` (who manages whom is there)."""

from __future__ import annotations

from flask.views import MethodView

from civic.accounts import schemas, staff
from civic.core.api import Blueprint
from civic.core.auth import current_actor, require

blp = Blueprint("staff", __name__, url_prefix="/api/v1", description="工作人员账号与角色")

ERRORS = ("Errors: 401; 403 ``wrong_account_kind`` (residents), ``not_staff_manager``; 404 ``staff_not_found`` "
          "(also for an account hidden from the caller), ``organisation_not_found``.")


@blp.route("/staff")
class StaffList(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.StaffListArgs, location="query")
    @blp.response(200, schemas.StaffPageSchema)
    def get(self, args):
        """工作人员列表（管理员：全部；组织负责人：本组织；街镇中心负责人：本街镇各组织）

        With ``organisation_id``: that organisation's members (403 ``not_staff_manager`` unless the
        caller manages it).  Shape: :class:`~civic.accounts.schemas.StaffSchema` pages by id."""
        items, cursor = staff.list_staff(current_actor(), organisation_id=args.get("organisation_id"),
                                         include_disabled=args["include_disabled"], cursor=args["cursor"],
                                         limit=args["limit"])
        return {"items": items, "next_cursor": cursor}

    @require("staff", "admin")
    @blp.arguments(schemas.StaffCreateSchema)
    @blp.response(201, schemas.OneTimePasswordSchema)
    def post(self, data):
        """新建工作人员账号并加入一个组织；返回一次性初始密码（首次登录须修改）

        Errors: 403 ``not_staff_manager``; 404 ``organisation_not_found``; 409 ``username_taken``;
        422 ``username_invalid``, ``display_name_invalid``, ``role_unknown``."""
        user, password = staff.create_staff_account(current_actor(), data)
        return {"staff": staff.staff_dict(user), "one_time_password": password}


@blp.route("/staff/<int:user_id>")
class StaffById(MethodView):
    @require("staff", "admin")
    @blp.response(200, schemas.StaffSchema)
    def get(self, user_id):
        """单个工作人员账号及其所属组织与角色"""
        return staff.staff_dict(staff.get_staff(current_actor(), user_id))

    @require("staff", "admin")
    @blp.arguments(schemas.StaffEditSchema)
    @blp.response(200, schemas.StaffSchema)
    def patch(self, data, user_id):
        """修改工作人员姓名（未改动则不写入）

        Errors: as the module's, 409 ``own_account``; 422 ``display_name_invalid``."""
        return staff.staff_dict(staff.edit_staff(current_actor(), user_id, data))


@blp.route("/staff/<int:user_id>/password-reset")
class StaffPasswordReset(MethodView):
    @require("staff", "admin")
    @blp.response(200, schemas.OneTimePasswordSchema)
    def post(self, user_id):
        """重置密码：生成一次性密码（仅此一次返回），本人登录后须修改；其全部登录随之失效

        Errors: 403 ``not_staff_manager``; 404 ``staff_not_found``; 409 ``own_account``."""
        password = staff.reset_password(current_actor(), user_id)
        return {"staff": staff.staff_dict(staff.get_staff(current_actor(), user_id)), "one_time_password": password}


@blp.route("/staff/<int:user_id>/disable")
class StaffDisable(MethodView):
    @require("staff", "admin")
    @blp.response(200, schemas.StaffSchema)
    def post(self, user_id):
        """停用账号：不能再登录，全部令牌与工作台会话立即失效；其经办的案件、表决与草稿仍属于组织

        Errors: 403 ``not_staff_manager``; 404 ``staff_not_found``; 409 ``own_account``,
        ``account_already_disabled``."""
        return staff.staff_dict(staff.disable_account(current_actor(), user_id))


@blp.route("/staff/<int:user_id>/enable")
class StaffEnable(MethodView):
    @require("staff", "admin")
    @blp.response(200, schemas.StaffSchema)
    def post(self, user_id):
        """重新启用已停用的账号

        Errors: 403 ``not_staff_manager``; 404 ``staff_not_found``; 409 ``own_account``,
        ``account_not_disabled``."""
        return staff.staff_dict(staff.enable_account(current_actor(), user_id))


@blp.route("/staff/<int:user_id>/move")
class StaffMove(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.StaffMoveSchema)
    @blp.response(200, schemas.StaffSchema)
    def post(self, data, user_id):
        """调动：把工作人员从一个组织调到另一个组织（须管理两个组织）

        Errors: 403 ``not_staff_manager``; 404 ``staff_not_found``, ``organisation_not_found``,
        ``membership_not_found``; 409 ``membership_exists``; 422 ``same_organisation``, ``role_unknown``."""
        actor = current_actor()
        staff.move_staff(actor, user_id, data["from_organisation_id"], data["to_organisation_id"], data.get("role"))
        return staff.staff_dict(staff.get_staff(actor, user_id))


@blp.route("/organisations/<int:organisation_id>/memberships")
class OrganisationMemberships(MethodView):
    @require("staff", "admin")
    @blp.response(200, schemas.MemberListSchema)
    def get(self, organisation_id):
        """组织的工作人员及其角色（该组织的管理者可见）

        Errors: 403 ``not_staff_manager``; 404 ``organisation_not_found``."""
        return {"items": staff.organisation_members(current_actor(), organisation_id)}

    @require("staff", "admin")
    @blp.arguments(schemas.MembershipAddSchema)
    @blp.response(201, schemas.MemberListSchema)
    def post(self, data, organisation_id):
        """让一名工作人员加入本组织并担任某一角色；返回组织的全部成员

        Errors: 403 ``not_staff_manager``; 404 ``organisation_not_found``, ``staff_not_found``;
        409 ``membership_exists``; 422 ``role_unknown``, ``not_staff_account``."""
        actor = current_actor()
        staff.add_membership(actor, organisation_id, data["user_id"], data["role"])
        return {"items": staff.organisation_members(actor, organisation_id)}


@blp.route("/organisations/<int:organisation_id>/memberships/<int:user_id>")
class OrganisationMembershipById(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.MembershipRoleSchema)
    @blp.response(200, schemas.MemberListSchema)
    def patch(self, data, organisation_id, user_id):
        """更改成员在本组织的角色（角色未变则不写入）；返回组织的全部成员

        Errors: 403 ``not_staff_manager``; 404 ``organisation_not_found``, ``membership_not_found``;
        422 ``role_unknown``."""
        actor = current_actor()
        staff.change_role(actor, organisation_id, user_id, data["role"])
        return {"items": staff.organisation_members(actor, organisation_id)}

    @require("staff", "admin")
    @blp.response(204)
    def delete(self, organisation_id, user_id):
        """把成员移出本组织（账号保留；其经办的事项仍属于组织）

        Errors: 403 ``not_staff_manager``; 404 ``organisation_not_found``, ``membership_not_found``."""
        staff.remove_membership(current_actor(), organisation_id, user_id)
        return None
