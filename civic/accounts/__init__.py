"""Identity: residents, staff, administrators; tokens, one-time codes, roles."""
