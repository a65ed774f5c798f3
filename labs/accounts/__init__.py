"""Users, roles, enterprises, password hashing and API tokens."""
