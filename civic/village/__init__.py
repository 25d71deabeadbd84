"""civic/village."""
