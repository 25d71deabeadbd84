"""Imports every model module, so SQLAlchemy's metadata (and Alembic) sees every table."""

from civic.accounts import models as accounts_models  # noqa: F401
from civic.complaints import jobs as complaints_jobs  # noqa: F401  (registers periodic jobs)
from civic.complaints import models as complaints_models  # noqa: F401
from civic.core import audit, calendar, idempotency, jobs, notifications, outbox  # noqa: F401
from civic.open311 import models as open311_models  # noqa: F401
from civic.property import models as property_models  # noqa: F401
from civic.proposals.contests import models as contests_models  # noqa: F401
from civic.proposals.contests import service as contests_service  # noqa: F401  (moderated kinds)
from civic.proposals.deliberation import jobs as deliberation_jobs  # noqa: F401  (periodic job)
from civic.proposals.deliberation import models as deliberation_models  # noqa: F401
from civic.proposals.deliberation import service as deliberation_service  # noqa: F401  (moderated kinds)
from civic.proposals.moderation import models as moderation_models  # noqa: F401
from civic.village import models as village_models  # noqa: F401
from civic.voting import models as voting_models  # noqa: F401
