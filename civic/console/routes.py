"""The console blueprint with every section's views attached (registered by civic.create_app)."""

from civic.console import budgets, cases, claims, frame, moderation, oversight, staff, village, votes  # noqa: F401  (attach views to bp)
from civic.console.blueprint import bp

__all__ = ["bp"]
