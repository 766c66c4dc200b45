"""Beatline: community-policing engagement backend (library code behind app.py)."""
