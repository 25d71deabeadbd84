"""civic: the backend for residents' participation in neighbourhood governance."""
