"""E-mail sent on a photographer's behalf: to their clients (a share link, a reminder) and to
the photographer (notifications). One way to build a mail, one way to send it once.

Every mail is HTML with a plain-text alternative, from the sender's name at our own address
(DEFAULT_FROM_EMAIL: we never forge the photographer's domain, which SPF and DMARC would
refuse), with Reply-To where an answer should go. Links in mails are built on
VIEWPORT_SITE_URL, never on a request's Host. Mails to clients carry a one-click unsubscribe
(RFC 8058): a signed link that stops that photographer's mails to that address.
"""

import email.policy
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from accounts import throttling
from accounts.models import MailSuppression, SentMail, User

UNSUBSCRIBE_SALT = "accounts.unsubscribe"


class Mail(EmailMultiAlternatives):
    """A mail whose HTML may show images sent inside it: `inline_images` maps a Content-ID to
    JPEG bytes, which the HTML names as `cid:<id>` (no URL to fetch, so nothing leaks)."""

    inline_images = {}

    def message(self, *, policy=email.policy.default):
        # Headers may be as long as RFC 5322 allows: folded at 78 characters, the long
        # List-Unsubscribe URL would be sent as RFC 2047 encoded-words, which mail clients do
        # not read as a URL.
        message = super().message(policy=policy.clone(max_line_length=998))
        html = message.get_body(("html",))
        for cid, data in self.inline_images.items():
            html.add_related(data, "image", "jpeg", cid=f"<{cid}>", disposition="inline", filename=f"{cid}.jpg")
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
    (RATE_LIMITS["mail-recipients"]); False, counting none, if they would pass it."""
    try:
        throttling.consume("mail-recipients", count=recipients, photographer=photographer.pk)
    except throttling.RateLimited:
        return False
    return True


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
