"""What every model's Meta shares before the bootstrap binds it (`bind_models`).

A model names its table by `short_name`; the real `table_name` (`<prefix><short_name>`), the region
and the botocore timeouts are set from `Settings` by `bind_models`, never read at import. Until then
PynamoDB refuses to use the model ("must have a table_name"), so an unbound model fails loudly.
"""

from __future__ import annotations


class UnboundMeta:
    billing_mode = "PAY_PER_REQUEST"
    # Throttles are retried with backoff by botocore before we answer 503.
    max_retry_attempts = 3
