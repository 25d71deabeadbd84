"""civic/voting."""
