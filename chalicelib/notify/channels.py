"""What every delivery channel implements, and what a send can come to: defined in
chalicelib/ports.py (one Channel interface), named here for the channel adapters."""

from __future__ import annotations

from chalicelib.ports import Channel, SendOutcome

__all__ = ["Channel", "SendOutcome"]
