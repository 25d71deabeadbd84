"""Imports every model module, so SQLAlchemy's metadata (and Alembic) sees every table; and each
domain's personal data provider and retention rows (``personal``/``privacy`` modules: PIPL Arts.
44-47, :mod:`civic.core.personal_data`, :mod:`civic.core.retention`, whose daily job this registers)."""

from civic.accounts import models as accounts_models  # noqa: F401
from civic.accounts import privacy as accounts_privacy  # noqa: F401
from civic.budgets import models as budgets_models  # noqa: F401
from civic.budgets import personal as budgets_personal  # noqa: F401
from civic.complaints import counts as complaints_counts  # noqa: F401  (the counts job, its hooks and command)
from civic.complaints import jobs as complaints_jobs  # noqa: F401  (registers periodic jobs)
from civic.complaints import models as complaints_models  # noqa: F401
from civic.complaints import personal as complaints_personal  # noqa: F401
from civic.core import audit, blur, calendar, idempotency, jobs, notifications, outbox, resumable, retention  # noqa: F401
from civic.open311 import models as open311_models  # noqa: F401
from civic.open311 import personal as open311_personal  # noqa: F401
from civic.property import models as property_models  # noqa: F401
from civic.property import personal as property_personal  # noqa: F401
from civic.proposals.contests import models as contests_models  # noqa: F401
from civic.proposals.contests import personal as contests_personal  # noqa: F401
from civic.proposals.contests import service as contests_service  # noqa: F401  (moderated kinds)
from civic.proposals.deliberation import jobs as deliberation_jobs  # noqa: F401  (periodic job)
from civic.proposals.deliberation import models as deliberation_models  # noqa: F401
from civic.proposals.deliberation import personal as deliberation_personal  # noqa: F401
from civic.proposals.deliberation import service as deliberation_service  # noqa: F401  (moderated kinds)
from civic.proposals.moderation import models as moderation_models  # noqa: F401
from civic.proposals.moderation import personal as moderation_personal  # noqa: F401
from civic.residents import models as residents_models  # noqa: F401
from civic.residents import personal as residents_personal  # noqa: F401
from civic.village import models as village_models  # noqa: F401
from civic.village import personal as village_personal  # noqa: F401
from civic.voting import models as voting_models  # noqa: F401
from civic.voting import personal as voting_personal  # noqa: F401
