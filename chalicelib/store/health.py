from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from chalicelib.store.models import ContactModel

PROBE_ID = "health-check-probe"


def store_reachable() -> bool:
    """One cheap GetItem (not DescribeTable, whose control-plane rate limit is low)."""
    try:
        ContactModel.get(PROBE_ID)
    except ContactModel.DoesNotExist:
        return True
    except (PynamoDBException, ClientError, BotoCoreError):
        return False
    return True
