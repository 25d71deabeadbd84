"""Imports every model module, so SQLAlchemy's metadata (and Alembic) sees every table."""

from civic.accounts import models as accounts_models  # noqa: F401
from civic.core import audit, idempotency, jobs  # noqa: F401
from civic.property import models as property_models  # noqa: F401
from civic.proposals import models as proposals_models  # noqa: F401
