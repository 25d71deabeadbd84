"""Imports every model module, so SQLAlchemy's metadata (and Alembic) sees every table."""

from civic.accounts import models as accounts_models  # noqa: F401
from civic.complaints import jobs as complaints_jobs  # noqa: F401  (registers periodic jobs)
from civic.complaints import models as complaints_models  # noqa: F401
from civic.core import audit, calendar, idempotency, jobs, notifications  # noqa: F401
from civic.property import models as property_models  # noqa: F401
from civic.proposals import models as proposals_models  # noqa: F401
from civic.village import models as village_models  # noqa: F401
from civic.voting import models as voting_models  # noqa: F401
