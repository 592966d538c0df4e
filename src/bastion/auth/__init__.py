"""Users, roles, sessions, second factors, API keys and the permission table."""
