"""What an email says: the confirmation, an alert, a team answer, a notice; English or Welsh.

Every email has a plain-text and an HTML part. The HTML is built here from fixed markup and
escaped values only (`html.escape` on every text and URL): no resident- or staff-written markup
reaches it. Links: the alert's page, the app, the confirmation page; every email but the
confirmation carries RFC 8058 one-click unsubscribe (`List-Unsubscribe` with an https (here: the
public base URL) POST target, `List-Unsubscribe-Post: List-Unsubscribe=One-Click`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from urllib.parse import quote

from chalicelib.domain.alerts import Notification
from chalicelib.domain.conversations import AnswerNotification
from chalicelib.domain.notices import NoticeNotification

EmailNotification = Notification | AnswerNotification | NoticeNotification

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "severity": "Severity", "area": "Area", "instruction": "What to do", "read": "Read the full alert",
        "open": "Open Beatline", "unsubscribe": "Stop these emails", "update": "Update", "cancel": "Cancelled",
        "why": "You get this because you asked for Beatline alerts by email.",
        "confirm_subject": "Confirm your email address for Beatline alerts",
        "confirm_body": "Someone (we hope you) asked for police alerts for their neighbourhood at this address. "
                        "Open the link and press Confirm to start receiving them:",
        "confirm_ignore": "If it was not you, ignore this email: nothing will be sent unless the address is confirmed.",
        "confirm_button": "Confirm my email address",
        "reply": "You can reply to this email: your answer goes to your neighbourhood team.",
    },
    "cy": {
        "severity": "Difrifoldeb", "area": "Ardal", "instruction": "Beth i'w wneud",
        "read": "Darllenwch y rhybudd llawn", "open": "Agor Beatline", "unsubscribe": "Atal y negeseuon e-bost hyn",
        "update": "Diweddariad", "cancel": "Wedi'i ganslo",
        "why": "Rydych chi'n cael hwn oherwydd i chi ofyn am rybuddion Beatline drwy e-bost.",
        "confirm_subject": "Cadarnhewch eich cyfeiriad e-bost ar gyfer rhybuddion Beatline",
        "confirm_body": "Gofynnodd rhywun (chi, gobeithio) am rybuddion yr heddlu ar gyfer eu cymdogaeth yn y "
                        "cyfeiriad hwn. Agorwch y ddolen a phwyswch Cadarnhau i ddechrau eu cael:",
        "confirm_ignore": "Os nad chi oedd hwn, anwybyddwch yr e-bost hwn: ni fydd dim yn cael ei anfon oni bai "
                          "bod y cyfeiriad wedi'i gadarnhau.",
        "confirm_button": "Cadarnhau fy nghyfeiriad e-bost",
        "reply": "Gallwch ateb yr e-bost hwn: bydd eich ateb yn mynd i'ch tîm cymdogaeth.",
    },
}
SEVERITY_NAMES = {"cy": {"Extreme": "Eithafol", "Severe": "Difrifol", "Moderate": "Cymedrol", "Minor": "Bach",
                         "Unknown": "Anhysbys"}}


def lang_of(language: str | None) -> str:
    return "cy" if (language or "").lower().split("-")[0] == "cy" else "en"


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str
    language: str
    headers: tuple[tuple[str, str], ...] = field(default=())


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url}/v1/subscribers/unsubscribe?token={quote(token, safe='')}"


def one_click_headers(base_url: str, token: str) -> tuple[tuple[str, str], ...]:
    """RFC 8058: the POST target in List-Unsubscribe, and List-Unsubscribe-Post."""
    return (("List-Unsubscribe", f"<{unsubscribe_url(base_url, token)}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))


def _single_line(text: str) -> str:
    """A subject is one header line: no CR/LF whatever the text holds."""
    return " ".join(text.split())[:200]


def _page(lang: str, title: str, paragraphs: list[str], link: tuple[str, str] | None, footer: list[str]) -> str:
    """Fixed markup around escaped values (callers pass plain text; everything is escaped here)."""
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    if link is not None:
        body += f'<p><a href="{escape(link[1], quote=True)}">{escape(link[0])}</a></p>'
    foot = "".join(f'<p style="color:#555;font-size:12px">{f}</p>' for f in footer)
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
            f'<body style="font-family:sans-serif;max-width:40em"><h1 style="font-size:20px">{escape(title)}</h1>'
            f"{body}<hr>{foot}</body></html>")


def _unsubscribe_footer(lang: str, url: str) -> tuple[str, str]:
    labels = LABELS[lang]
    text = f"{labels['why']}\n{labels['unsubscribe']}: {url}"
    html = f'{escape(labels["why"])} <a href="{escape(url, quote=True)}">{escape(labels["unsubscribe"])}</a>'
    return text, html


def confirmation(base_url: str, token: str, language: str | None) -> EmailContent:
    """The double opt-in message: a link to the page that POSTs the token (a GET confirms nothing)."""
    lang = lang_of(language)
    labels = LABELS[lang]
    link = f"{base_url}/app/confirm?token={quote(token, safe='')}"
    text = f"{labels['confirm_body']}\n\n{link}\n\n{labels['confirm_ignore']}\n"
    html = _page(lang, labels["confirm_subject"], [labels["confirm_body"]], (labels["confirm_button"], link),
                 [escape(labels["confirm_ignore"])])
    return EmailContent(subject=labels["confirm_subject"], text=text, html=html, language=lang)


def _alert_lines(note: Notification, lang: str) -> tuple[str, list[str]]:
    labels = LABELS[lang]
    severity = SEVERITY_NAMES.get(lang, {}).get(note.severity, note.severity)
    prefix = {"Update": f"{labels['update']}: ", "Cancel": f"{labels['cancel']}: "}.get(note.msg_type, "")
    title = f"{prefix}{note.info.headline}"
    lines = [f"{labels['severity']}: {severity}"]
    if note.area_name:
        lines.append(f"{labels['area']}: {note.area_name}")
    lines.append(note.info.description)
    if note.info.instruction:
        lines.append(f"{labels['instruction']}: {note.info.instruction}")
    return title, lines


def _link_of(note: EmailNotification, base_url: str) -> str:
    if isinstance(note, Notification):
        return f"{base_url}/app/#alert={quote(note.alert_id, safe='')}"
    return note.url


def render(note: EmailNotification, *, base_url: str, unsubscribe_token: str, replies: bool = False) -> EmailContent:
    """An alert, a team answer or a notice as an email in the notification's language."""
    if isinstance(note, Notification):
        lang = lang_of(note.info.language)
        title, lines = _alert_lines(note, lang)
        link_label = LABELS[lang]["read"]
    else:
        lang = lang_of(note.language)
        title = note.title
        lines = [note.context if isinstance(note, AnswerNotification) else note.body]
        if isinstance(note, AnswerNotification) and replies:
            lines.append(LABELS[lang]["reply"])
        link_label = LABELS[lang]["open"]
    link = _link_of(note, base_url)
    url = unsubscribe_url(base_url, unsubscribe_token)
    foot_text, foot_html = _unsubscribe_footer(lang, url)
    text = "\n\n".join([title, *lines, f"{link_label}: {link}", foot_text]) + "\n"
    html = _page(lang, title, lines, (link_label, link), [foot_html])
    return EmailContent(subject=_single_line(title), text=text, html=html, language=lang,
                        headers=one_click_headers(base_url, unsubscribe_token))
