"""村务公开 request and response shapes.  Money: integer 分 (``*_fen``) or a 元 string (``*_yuan``)."""

from __future__ import annotations

import marshmallow as ma

from civic.core.pagination import PageArgs, page_schema
from civic.core.schemas import Integer, ShanghaiDateTime
from civic.core.uploads import files_field, upload_ids_field
from civic.village.models import CADENCES, CATEGORIES, LINE_KINDS


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class AmountField(ma.fields.Field):
    """An int (分) or a string (元, e.g. "1,234.56"); parsed exactly by the service."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ma.ValidationError("金额须为整数（分）或元字符串")
        return value


class LineIn(Strict):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(LINE_KINDS))
    date = ma.fields.Date(required=True)
    account = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    counterparty = ma.fields.String(load_default="")
    amount_fen = Integer(strict=True)
    amount_yuan = ma.fields.String()

    @ma.validates_schema
    def _one_amount(self, data, **kwargs):
        if ("amount_fen" in data) == ("amount_yuan" in data):
            raise ma.ValidationError("须且只能填写 amount_fen 或 amount_yuan 之一", "amount_fen")


class DisclosureIn(Strict):
    item_code = ma.fields.String(required=True)
    period = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    body = ma.fields.String(load_default="")
    opening_balance = AmountField(allow_none=True)
    closing_balance = AmountField(allow_none=True)
    lines = ma.fields.List(ma.fields.Nested(LineIn), validate=ma.validate.Length(max=2000))


class DisclosurePatch(Strict):
    title = ma.fields.String()
    body = ma.fields.String()
    opening_balance = AmountField(allow_none=True)
    closing_balance = AmountField(allow_none=True)
    lines = ma.fields.List(ma.fields.Nested(LineIn), validate=ma.validate.Length(max=2000),
                           metadata={"description": "appended"})


class CorrectionIn(DisclosurePatch):
    reason = ma.fields.String(required=True)


class TransitionIn(Strict):
    action = ma.fields.String(required=True, metadata={"description": "submit, return, sign_off, publish"})
    note = ma.fields.String(load_default=None, allow_none=True,
                            metadata={"description": "审核意见；退回（return）时必填"})


class VoucherFormSchema(ma.Schema):
    # Documentation only: the files arrive in request.files, which the route reads.
    photos = files_field("凭证照片或扫描件（JPEG、PNG、WebP、HEIC），可多张")
    upload_ids = upload_ids_field("凭证照片或扫描件")


class VoucherOut(ma.Schema):
    """A voucher photo (:func:`civic.village.service.voucher_links`): its unguessable address
    (civic.core.media), never its store key; ``blur_status`` says which rendition the address serves
    this viewer, and while the blurred one is being made there is no address yet."""

    id = Integer()
    width = Integer()
    height = Integer()
    url = ma.fields.String(allow_none=True, metadata={
        "description": "凭证照片地址（不可猜测；访问记入审计日志）；blur_status 为 pending 或 failed 时为 null"})
    thumbnail_url = ma.fields.String(allow_none=True)
    blur_status = ma.fields.String(metadata={"description": "original | blurred | pending | failed: the original "
                                                            "(the village's committees and the town), the copy "
                                                            "with faces and number plates blurred, or none yet"})


class LineOut(ma.Schema):
    id = Integer()
    position = Integer()
    kind = ma.fields.String()
    date = ma.fields.Date()
    account = ma.fields.String()
    description = ma.fields.String()
    counterparty = ma.fields.String()
    amount_fen = Integer(attribute="amount")
    vouchers = ma.fields.List(ma.fields.Nested(VoucherOut))


class AccountTotal(ma.Schema):
    account = ma.fields.String()
    income = Integer()
    expense = Integer()


class TotalsOut(ma.Schema):
    income = Integer()
    expense = Integer()
    expected_closing = Integer(allow_none=True)
    balanced = ma.fields.Boolean()
    by_account = ma.fields.List(ma.fields.Nested(AccountTotal))


class DisclosureOut(ma.Schema):
    """A disclosure as one viewer gets it (:func:`civic.village.service.disclosure_view`)."""

    id = Integer()
    village_id = Integer()
    category = ma.fields.String()
    period = ma.fields.String()
    title = ma.fields.String()
    body = ma.fields.String()
    status = ma.fields.String()
    version = Integer()
    series_id = Integer()
    supersedes_id = Integer(allow_none=True)
    corrected_by_id = Integer(allow_none=True)
    correction_reason = ma.fields.String(allow_none=True)
    review_note = ma.fields.String(allow_none=True)
    opening_balance = Integer(allow_none=True)
    closing_balance = Integer(allow_none=True)
    content_hash = ma.fields.String(allow_none=True)
    submitted_at = ShanghaiDateTime(allow_none=True)
    signed_off_at = ShanghaiDateTime(allow_none=True)
    published_at = ShanghaiDateTime(allow_none=True)
    corrected_at = ShanghaiDateTime(allow_none=True)
    lines = ma.fields.List(ma.fields.Nested(LineOut))
    totals = ma.fields.Method("_totals")

    def _totals(self, obj):
        return TotalsOut().dump(obj["totals"])


class DisclosureBrief(ma.Schema):
    id = Integer()
    category = ma.fields.String()
    period = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.String()
    version = Integer()
    content_hash = ma.fields.String(allow_none=True)
    published_at = ShanghaiDateTime(allow_none=True)


class DisclosureListArgs(PageArgs, Strict):
    status = ma.fields.String()
    period = ma.fields.String()


class CatalogueItemIn(Strict):
    code = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[a-z_]+\.[a-z0-9_]+$"))
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(CATEGORIES))
    title = ma.fields.String(required=True)
    legal_basis = ma.fields.String(required=True)
    cadence = ma.fields.String(required=True, validate=ma.validate.OneOf(CADENCES))
    monthly_if_busy = ma.fields.Boolean(load_default=False)
    due_days = Integer(load_default=10, validate=ma.validate.Range(min=0, max=90))


class CatalogueItemPatch(Strict):
    title = ma.fields.String()
    legal_basis = ma.fields.String()
    cadence = ma.fields.String(validate=ma.validate.OneOf(CADENCES))
    monthly_if_busy = ma.fields.Boolean()
    due_days = Integer(validate=ma.validate.Range(min=0, max=90))
    active = ma.fields.Boolean()


class CatalogueItemOut(ma.Schema):
    id = Integer()
    code = ma.fields.String()
    category = ma.fields.String()
    title = ma.fields.String()
    legal_basis = ma.fields.String()
    cadence = ma.fields.String()
    monthly_if_busy = ma.fields.Boolean()
    due_days = Integer()
    active = ma.fields.Boolean()


class SettingsIn(Strict):
    many_transactions = ma.fields.Boolean()
    tracking_since = ma.fields.Date()


class SettingsOut(ma.Schema):
    many_transactions = ma.fields.Boolean()
    tracking_since = ma.fields.Date()
    content_version = Integer()


class ComplianceArgs(Strict):
    on = ma.fields.Date(load_default=None)
    period = ma.fields.String(load_default=None)


class ComplianceRow(ma.Schema):
    item_code = ma.fields.String()
    title = ma.fields.String()
    category = ma.fields.String()
    cadence = ma.fields.String()
    period = ma.fields.String()
    due_on = ma.fields.Date()
    status = ma.fields.String()
    disclosure_id = Integer(allow_none=True)


class ComplianceOut(ma.Schema):
    village_code = ma.fields.String()
    on = ma.fields.Date()
    items = ma.fields.List(ma.fields.Nested(ComplianceRow))


class VillageSummary(ma.Schema):
    village_code = ma.fields.String()
    village_name = ma.fields.String()
    published = Integer()
    current = Integer()
    due = Integer()
    overdue = Integer()
    overdue_items = ma.fields.List(ma.fields.Nested(ComplianceRow))
    overdue_inquiries = Integer()


class StreetOverviewArgs(Strict):
    on = ma.fields.Date(load_default=None)


class StreetOverviewOut(ma.Schema):
    street_code = ma.fields.String()
    on = ma.fields.Date()
    villages = ma.fields.List(ma.fields.Nested(VillageSummary))


class InquiryIn(Strict):
    question = ma.fields.String(required=True)


class AnswerIn(Strict):
    answer = ma.fields.String(required=True)


class InquiryOut(ma.Schema):
    """No asker identity: the committee answers the question, not the person."""

    id = Integer()
    disclosure_id = Integer()
    question = ma.fields.String()
    asked_at = ShanghaiDateTime()
    due_at = ShanghaiDateTime()
    answer = ma.fields.String(allow_none=True)
    answered_at = ShanghaiDateTime(allow_none=True)


class InquiryListArgs(PageArgs, Strict):
    overdue = ma.fields.Boolean(load_default=False)


class MemberIn(Strict):
    organisation_id = Integer(required=True)
    user_id = Integer(required=True)
    role = ma.fields.String(load_default="handler")


class MemberOut(ma.Schema):
    id = Integer()
    user_id = Integer()
    organisation_id = Integer()
    role = ma.fields.String()


DisclosurePage = page_schema(DisclosureBrief, "DisclosurePageSchema")
InquiryPage = page_schema(InquiryOut, "InquiryPageSchema")
