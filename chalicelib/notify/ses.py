"""Email through Amazon SES (API v2, boto3 `sesv2`): the `email` delivery channel and the sender of
email confirmations. Locally the aws-ses-v2-local server (AWS_ENDPOINT_URL_SESV2).

Every message is sent with the stage's configuration set (its event destination publishes
bounces and complaints to SNS: app.py `email_events`) and tagged with the subscriber id, so an
event finds the record without any index of addresses. Addresses are never logged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from chalicelib.domain.contact_channels import reply_token
from chalicelib.domain.conversations import AnswerNotification
from chalicelib.notify import email_content
from chalicelib.ports import SendOutcome

if TYPE_CHECKING:
    from chalicelib.notify.email_content import EmailContent, EmailNotification

LOG = logging.getLogger("beatline.email")

# SES v2 errors a retry cannot fix (the message or the address is refused).
REFUSED = {"MessageRejected", "BadRequestException", "MailFromDomainNotVerifiedException",
           "AccountSuspendedException"}
TAG_SUBSCRIBER = "subscriber"
TAG_KIND = "kind"


class SesEmail:
    """`Channel` (alerts, answers, notices) and `ConfirmationSender` for the `email` type."""

    def __init__(self, client: Any, *, sender: str, base_url: str, configuration_set: str | None = None,
                 reply_domain: str | None = None) -> None:
        self._client = client
        self._sender = sender
        self._base_url = base_url
        self._configuration_set = configuration_set
        self._reply_domain = reply_domain

    def send(self, target: dict[str, Any], notification: EmailNotification) -> SendOutcome:
        reply_to = self._reply_to(target, notification)
        content = email_content.render(notification, base_url=self._base_url, replies=reply_to is not None,
                                       unsubscribe_token=str(target["unsubscribe_token"]))
        return self._send(str(target["address"]), content, kind=type(notification).__name__.lower(),
                          subscriber_id=str(target.get("subscriber_id", "")), reply_to=reply_to)

    def _reply_to(self, target: dict[str, Any], notification: EmailNotification) -> str | None:
        """A team answer: the conversation's own reply address (needs a reply domain and the key)."""
        key = target.get("reply_key")
        if not isinstance(notification, AnswerNotification) or not key or not self._reply_domain:
            return None
        return f"{reply_token(str(key), notification.conversation_id)}@{self._reply_domain}"

    def send_confirmation(self, address: str, secret: str, language: str | None) -> SendOutcome:
        content = email_content.confirmation(self._base_url, secret, language)
        return self._send(address, content, kind="confirmation", subscriber_id="", reply_to=None)

    def _request(self, address: str, content: EmailContent, kind: str, subscriber_id: str,
                 reply_to: str | None) -> dict[str, Any]:
        simple: dict[str, Any] = {
            "Subject": {"Data": content.subject, "Charset": "UTF-8"},
            "Body": {"Text": {"Data": content.text, "Charset": "UTF-8"},
                     "Html": {"Data": content.html, "Charset": "UTF-8"}},
        }
        if content.headers:
            simple["Headers"] = [{"Name": name, "Value": value} for name, value in content.headers]
        tags = [{"Name": TAG_KIND, "Value": kind}]
        if subscriber_id:
            tags.append({"Name": TAG_SUBSCRIBER, "Value": subscriber_id})
        request: dict[str, Any] = {"FromEmailAddress": self._sender, "Destination": {"ToAddresses": [address]},
                                   "Content": {"Simple": simple}, "EmailTags": tags}
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        if reply_to:
            request["ReplyToAddresses"] = [reply_to]
        return request

    def _send(self, address: str, content: EmailContent, *, kind: str, subscriber_id: str,
              reply_to: str | None) -> SendOutcome:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.send_email(**self._request(address, content, kind, subscriber_id, reply_to))
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            LOG.warning("SES refused a %s email: %s", kind, code)  # never the address
            return SendOutcome.FAILED if code in REFUSED else SendOutcome.RETRY
        except BotoCoreError as exc:
            LOG.warning("SES unreachable for a %s email: %s", kind, type(exc).__name__)
            return SendOutcome.RETRY
        return SendOutcome.SENT
