"""civic/property."""
