"""One function per API operation: pure domain rules composed with store calls.

Handlers call exactly one of these; these are the only place that orders I/O.
"""
