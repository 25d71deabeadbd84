"""civic/proposals."""
