"""村务公开: the verbs.  Catalogue, disclosures and their state machine, finance lines and vouchers,
corrections, compliance, inquiries, committee membership.

Sources: 村民委员会组织法 (2018) Arts. 30-32; 上海市实施《村民委员会组织法》办法 (2020) Arts. 23-26;
RULES.md §2.  Money is integer 分; times are stored UTC and read in Asia/Shanghai.

One module per verb group; this package re-exports the public verbs, so callers keep
``from civic.village import service`` and ``service.transition(...)``:

* :mod:`.money` — amounts in 分 from 元 strings, 分 to 元, finance lines pasted from a spreadsheet;
* :mod:`.periods` — today in Shanghai, period codes (month, quarter, year, day);
* :mod:`.committees` — which villages a user works on, who may act (committee, supervision
  committee, readers), who sits on the committees (Art. 32 conflicts);
* :mod:`.catalogue` — the village profile, its catalogue and settings, the public content version;
* :mod:`.content` — a disclosure's totals, canonical content and hash, the balance check;
* :mod:`.workflow` — the state machine (:data:`TRANSITIONS`, declared once with who may take each
  action), ``transition`` and ``claim`` (one writer at a time);
* :mod:`.guard` — the before-flush guard (Art. 32 memberships; published disclosures frozen);
* :mod:`.disclosures` — drafting and editing disclosures, lines, vouchers, corrections; listing;
* :mod:`.inquiries` — villagers' questions and the committee's answers;
* :mod:`.schedules` — what is due or overdue (compliance), the town's overview, overdue notices;
* :mod:`.public` — what the public page shows.
"""

from __future__ import annotations

from civic.property import service as registry
from civic.village.service import guard  # noqa: F401  (registers the before-flush guard)
from civic.village.service.catalogue import (
    CADENCE_NAMES,
    CATEGORY_NAMES,
    add_catalogue_item,
    bump,
    catalogue,
    effective_cadence,
    ensure_village,
    update_catalogue_item,
    update_settings,
)
from civic.village.service.committees import (
    add_committee_member,
    check_membership_conflict,
    is_conflicted,
    require_committee,
    require_supervisor,
    require_village_reader,
    village_by_code,
    villages_for,
)
from civic.village.service.content import check_balances, content_hash, content_of, needs_balances, totals
from civic.village.service.disclosures import (
    VOUCHER,
    add_vouchers,
    create_correction,
    create_disclosure,
    delete_line,
    disclosure_view,
    get_disclosure,
    list_disclosures,
    update_disclosure,
    versions,
    view_disclosure,
    voucher_file,
    voucher_links,
    voucher_url,
)
from civic.village.service.inquiries import (
    INQUIRY_REPLY_DAYS,
    answer,
    ask,
    is_villager,
    list_inquiries,
    overdue_inquiries,
    public_inquiries,
    reply_due,
)
from civic.village.service.money import (
    PASTE_MAX_ROWS,
    fen_to_yuan,
    parse_amount,
    parse_balance,
    parse_pasted_lines,
)
from civic.village.service.periods import Period, period_of, periods_between, today_shanghai
from civic.village.service.public import (
    public_disclosure,
    public_disclosure_hash,
    public_index,
    public_version,
    public_voucher,
    public_vouchers_shown,
)
from civic.village.service.schedules import (
    NOTICE_TEMPLATES,
    compliance,
    flag_overdue,
    notify_organisation,
    street_overview,
    village_compliance,
)
from civic.village.service.workflow import (
    DISCLOSURE_CHANGED,
    EDITABLE,
    PUBLIC_STATUSES,
    STATUS_NAMES,
    TRANSITIONS,
    claim,
    transition,
)

__all__ = [
    # registry: civic.property.service, as the console reaches it (service.registry.get_place)
    "registry",
    # money
    "PASTE_MAX_ROWS", "fen_to_yuan", "parse_amount", "parse_balance", "parse_pasted_lines",
    # periods
    "Period", "period_of", "periods_between", "today_shanghai",
    # committees
    "add_committee_member", "check_membership_conflict", "is_conflicted", "require_committee",
    "require_supervisor", "require_village_reader", "village_by_code", "villages_for",
    # catalogue
    "CADENCE_NAMES", "CATEGORY_NAMES", "add_catalogue_item", "bump", "catalogue", "effective_cadence",
    "ensure_village", "update_catalogue_item", "update_settings",
    # content
    "check_balances", "content_hash", "content_of", "needs_balances", "totals",
    # workflow
    "DISCLOSURE_CHANGED", "EDITABLE", "PUBLIC_STATUSES", "STATUS_NAMES", "TRANSITIONS", "claim", "transition",
    # disclosures
    "VOUCHER", "add_vouchers", "create_correction", "create_disclosure", "delete_line", "get_disclosure",
    "list_disclosures", "update_disclosure", "versions", "view_disclosure", "voucher_file", "voucher_url",
    "disclosure_view", "voucher_links",
    # inquiries
    "INQUIRY_REPLY_DAYS", "answer", "ask", "is_villager", "list_inquiries", "overdue_inquiries",
    "public_inquiries", "reply_due",
    # schedules
    "NOTICE_TEMPLATES", "compliance", "flag_overdue", "notify_organisation", "street_overview",
    "village_compliance",
    # public
    "public_disclosure", "public_disclosure_hash", "public_index", "public_version", "public_voucher", "public_vouchers_shown",
]
