"""E-mail sent on a photographer's behalf: to their clients (a share link, a reminder) and to
the photographer (notifications). One way to build a mail, one way to send it once.

Every mail is HTML with a plain-text alternative, from the sender's name at our own address
(DEFAULT_FROM_EMAIL: we never forge the photographer's domain, which SPF and DMARC would
refuse), with Reply-To where an answer should go. Links in mails are built on
VIEWPORT_SITE_URL, never on a request's Host. Mails to clients carry a one-click unsubscribe
(RFC 8058): a signed link that stops that photographer's mails to that address.
"""

import email.policy
import logging
from datetime import timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from accounts import colours, throttling
from accounts.models import MailSuppression, SentMail, User
from galleries.storage import STORAGE_ERRORS

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "accounts.unsubscribe"
RECIPIENTS_WINDOW = timedelta(days=1)


class Mail(EmailMultiAlternatives):
    """A mail whose HTML may show images sent inside it: `inline_images` maps a Content-ID to
    JPEG or PNG bytes, which the HTML names as `cid:<id>` (no URL to fetch, so nothing leaks)."""

    inline_images = {}

    def message(self, *, policy=email.policy.default):
        # Headers may be as long as RFC 5322 allows: folded at 78 characters, the long
        # List-Unsubscribe URL would be sent as RFC 2047 encoded-words, which mail clients do
        # not read as a URL.
        message = super().message(policy=policy.clone(max_line_length=998))
        html = message.get_body(("html",))
        for cid, data in self.inline_images.items():
            subtype, extension = ("png", "png") if data.startswith(b"\x89PNG") else ("jpeg", "jpg")
            html.add_related(
                data, "image", subtype, cid=f"<{cid}>", disposition="inline", filename=f"{cid}.{extension}"
            )
        return message


def compose(template, context, to, *, sender_name="", reply_to=None, headers=None, inline_images=None):
    """A Mail from `template`_subject.txt, .txt and .html rendered with `context` (plus
    `site_url`), to one address, from `sender_name` at DEFAULT_FROM_EMAIL's address."""
    context = {**context, "site_url": settings.VIEWPORT_SITE_URL}
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    default_name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    mail = Mail(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=formataddr((sender_name or default_name, address)),
        to=[to],
        reply_to=[reply_to] if reply_to else [],
        headers=headers or {},
    )
    mail.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    mail.inline_images = inline_images or {}
    return mail


def brand(photographer):
    """The photographer's brand for a mail to their clients: (context, inline images). The logo
    goes inside the mail (`cid:logo`), unless storage cannot give it now; the button takes the
    accent colour, with text that reads on it."""
    logo = None
    if photographer.logo_key:
        try:
            with default_storage.open(photographer.logo_key) as file:
                logo = file.read()
        except (OSError, *STORAGE_ERRORS):
            logger.warning("Sent a mail without %s's logo: storage did not give it", photographer.pk)
    palette = colours.accent_palette(photographer.accent_color or colours.DEFAULT_ACCENT)["light"]
    context = {
        "photographer": photographer,
        "has_logo": logo is not None,
        "accent": palette["accent"],
        "on_accent": palette["on_accent"],
    }
    return context, {"logo": logo} if logo else {}


def send_once(key, mail):
    """Send `mail` unless a mail with this key has been sent; True if it was sent now.

    The key is claimed before sending (a unique row), so two runs of a task, even at once,
    send one mail. A failed send gives the key back for the next try; a worker killed between
    the claim and the send loses that one mail rather than sending it twice.
    """
    try:
        with transaction.atomic():
            claim = SentMail.objects.create(key=key[:255])
    except IntegrityError:
        return False
    try:
        mail.send()
    except Exception:
        claim.delete()
        raise
    return True


def photographer_mail_allowed(photographer, recipients):
    """Count `recipients` more client e-mails against the photographer's daily limit
    (VIEWPORT_MAIL_RECIPIENTS_PER_DAY); False, counting none, if they would pass it."""
    return throttling.try_record(
        "mail-recipients",
        photographer.pk,
        settings.VIEWPORT_MAIL_RECIPIENTS_PER_DAY,
        RECIPIENTS_WINDOW,
        count=recipients,
    )


# Unsubscribing


def unsubscribe_url(photographer, address):
    token = signing.dumps([str(photographer.pk), address], salt=UNSUBSCRIBE_SALT, compress=True)
    return settings.VIEWPORT_SITE_URL + reverse("unsubscribe", args=[token])


def unsubscribe_headers(url):
    """RFC 8058: a mail client may POST to the URL to unsubscribe in one click."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def read_unsubscribe_token(token):
    """(photographer, address) from an unsubscribe link, or None if it is not one of ours."""
    try:
        photographer_id, address = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    photographer = User.objects.filter(pk=photographer_id).first()
    return (photographer, address) if photographer else None


def unsubscribe(photographer, address):
    MailSuppression.objects.get_or_create(photographer=photographer, email=User.objects.normalize_email(address))


def is_unsubscribed(photographer, address):
    return MailSuppression.objects.filter(
        photographer=photographer, email=User.objects.normalize_email(address)
    ).exists()
