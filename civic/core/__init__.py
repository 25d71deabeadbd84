"""civic/core."""
