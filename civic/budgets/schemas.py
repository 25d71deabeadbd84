"""Request and response shapes of budget rounds.  Money: integer 分; times: ISO 8601 (shown in Asia/Shanghai)."""

from __future__ import annotations

import marshmallow as ma

from civic.budgets import rules
from civic.budgets.models import BALLOT_MODES, SOURCES, VOTE_UNITS
from civic.budgets.phases import PHASES
from civic.budgets.service.rounds import BUDGET_MAX
from civic.core.pagination import PageArgs, page_schema  # noqa: F401  (PageArgs used by routes)
from civic.core.schemas import Integer, ShanghaiDateTime

V = ma.validate
ID = V.Range(min=1, max=2**31 - 1)


class BudgetRoundCreateSchema(ma.Schema):
    organisation_id = Integer(required=True, validate=ID)
    title = ma.fields.String(required=True, validate=V.Length(min=1, max=200))
    budget = Integer(required=True, validate=V.Range(min=1, max=BUDGET_MAX), metadata={"description": "预算总额，分"})
    rule = ma.fields.String(required=True, validate=V.OneOf(rules.RULES),
                            metadata={"description": "greedy：按票数依次资助；equal_shares：平等份额法"})
    vote_unit = ma.fields.String(required=True, validate=V.OneOf(VOTE_UNITS),
                                 metadata={"description": "household：每户一票；resident：每位居民一票"})
    ballot_mode = ma.fields.String(required=True, validate=V.OneOf(BALLOT_MODES),
                                   metadata={"description": "budget：所选合计不超过预算；k：最多选 max_choices 个"})
    max_choices = Integer(load_default=None, allow_none=True, validate=V.Range(min=1, max=1000))
    place_ids = ma.fields.List(Integer(validate=ID), required=True, validate=V.Length(min=1, max=100))
    voting_opens_at = ma.fields.AwareDateTime(required=True)
    voting_closes_at = ma.fields.AwareDateTime(required=True)


class BudgetWindowSchema(ma.Schema):
    voting_opens_at = ma.fields.AwareDateTime(required=True)
    voting_closes_at = ma.fields.AwareDateTime(required=True)


class BudgetRoundSchema(ma.Schema):
    id = Integer()
    organisation_id = Integer()
    title = ma.fields.String()
    budget = Integer(metadata={"description": "分"})
    rule = ma.fields.String()
    vote_unit = ma.fields.String()
    ballot_mode = ma.fields.String()
    max_choices = Integer(allow_none=True)
    phase = ma.fields.String(metadata={"enum": list(PHASES)})
    place_ids = ma.fields.List(Integer())
    voting_opens_at = ShanghaiDateTime()
    voting_closes_at = ShanghaiDateTime()
    spent = Integer(allow_none=True, metadata={"description": "已资助项目合计，分（结果公布后）"})
    published_at = ShanghaiDateTime(allow_none=True)


BudgetRoundPageSchema = page_schema(BudgetRoundSchema, "BudgetRoundPage")


class BudgetTransitionSchema(ma.Schema):
    to = ma.fields.String(required=True, validate=V.OneOf(PHASES))
    note = ma.fields.String(load_default=None, allow_none=True, validate=V.Length(max=500))


class BudgetProjectInSchema(ma.Schema):
    source = ma.fields.String(required=True, validate=V.OneOf(SOURCES))
    source_id = Integer(required=True, validate=ID)


class BudgetCostInSchema(ma.Schema):
    cost = Integer(required=True, validate=V.Range(min=1, max=BUDGET_MAX), metadata={"description": "分"})
    feasibility_note = ma.fields.String(required=True, validate=V.Length(min=1, max=2000))
    implementing_organisation_id = Integer(required=True, validate=ID)


class BudgetMilestoneProgressSchema(ma.Schema):
    title = ma.fields.String()
    due_on = ma.fields.Date(allow_none=True)
    progress = Integer(metadata={"description": "百分比"})


class BudgetCarryingOutSchema(ma.Schema):
    status = ma.fields.String(allow_none=True)
    milestones = ma.fields.List(ma.fields.Nested(BudgetMilestoneProgressSchema))


class BudgetProjectSchema(ma.Schema):
    id = Integer()
    round_id = Integer()
    source = ma.fields.String()
    source_id = Integer()
    title = ma.fields.String()
    cost = Integer(allow_none=True, metadata={"description": "分，审核后"})
    feasibility_note = ma.fields.String(allow_none=True)
    implementing_organisation_id = Integer(allow_none=True)
    reviewed = ma.fields.Boolean()
    reviewed_at = ShanghaiDateTime(allow_none=True)
    votes = Integer(allow_none=True)
    funded = ma.fields.Boolean(allow_none=True)
    funded_position = Integer(allow_none=True)


class BudgetResultProjectSchema(BudgetProjectSchema):
    carrying_out = ma.fields.Nested(BudgetCarryingOutSchema, allow_none=True)


class BudgetResultSchema(ma.Schema):
    round = ma.fields.Nested(BudgetRoundSchema)
    places = ma.fields.List(ma.fields.String())
    projects = ma.fields.List(ma.fields.Nested(BudgetResultProjectSchema))
    spent = Integer()
    left = Integer()
    ballots = Integer()


class BudgetBallotInSchema(ma.Schema):
    project_ids = ma.fields.List(Integer(validate=ID), required=True, validate=V.Length(max=1000))
    unit_id = Integer(load_default=None, allow_none=True, validate=ID,
                      metadata={"description": "每户一票时代表哪一户（默认：本轮地点内编号最小的一户）"})


class BudgetBallotOutSchema(ma.Schema):
    ballot_id = Integer()
    project_ids = ma.fields.List(Integer())
    cast_at = ShanghaiDateTime()
    changed = ma.fields.Boolean()
    receipt_code = ma.fields.String(metadata={"description": "回执码，仅显示这一次"})


class BudgetMyBallotSchema(ma.Schema):
    ballot_id = Integer()
    project_ids = ma.fields.List(Integer())
    cast_at = ShanghaiDateTime()
    kind = ma.fields.String()


class BudgetReceiptSchema(ma.Schema):
    round_id = Integer()
    project_ids = ma.fields.List(Integer(), allow_none=True)
    cast_at = ShanghaiDateTime(allow_none=True)
    current = ma.fields.Boolean(metadata={"description": "false：该选票之后已被更改"})


class BudgetPaperInSchema(ma.Schema):
    resident_id = Integer(required=True, validate=ID)
    unit_id = Integer(load_default=None, allow_none=True, validate=ID)
    project_ids = ma.fields.List(Integer(validate=ID), required=True, validate=V.Length(max=1000))


class BudgetPaperEntrySchema(ma.Schema):
    id = Integer()
    round_id = Integer()
    resident_id = Integer(allow_none=True)
    project_ids = ma.fields.List(Integer())
    entered_by_id = Integer()
    confirmed_by_id = Integer(allow_none=True)
    confirmed_at = ShanghaiDateTime(allow_none=True)
    ballot_id = Integer(allow_none=True)


class BudgetMilestoneInSchema(ma.Schema):
    title = ma.fields.String(required=True, validate=V.Length(min=1, max=200))
    due_on = ma.fields.Date(load_default=None, allow_none=True)


class BudgetMilestoneOutSchema(ma.Schema):
    project_id = Integer()
    title = ma.fields.String()
    due_on = ma.fields.Date(allow_none=True)
