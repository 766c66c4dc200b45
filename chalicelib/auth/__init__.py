"""Token verification, principals and the one permission table."""
