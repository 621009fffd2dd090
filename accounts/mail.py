"""Every e-mail the site sends is built here, and every mail to a client is sent here:
invitations, reminders and favourites' resume links (send_to_client), notifications and the daily
digest to photographers (accounts.tasks.notify_photographer), password resets (accounts.forms).

- compose() builds each of them: HTML with a plain-text alternative, both from one layout
  (templates/accounts/mail/_layout.html and .txt, which also write the footer), from the sender's
  name at our own address (DEFAULT_FROM_EMAIL: we never forge the photographer's domain, which
  SPF and DMARC would refuse), with Reply-To where an answer should go. Links in mails are built
  on VIEWPORT_SITE_URL, never on a request's Host.
- client_mail() is a mail to a client on a photographer's behalf: from their name, Reply-To
  them, with a one-click unsubscribe (RFC 8058): a signed link that stops that photographer's
  mails to that address.
- send_to_client() sends it: never on behalf of an account whose address is not confirmed,
  never to an address that unsubscribed, within the photographer's daily recipient limit (or,
  for an address a visitor typed, within the link's visitor-mail limits), once per key.
- confirmation_mail() asks a new account (or a changed address) to confirm it: a signed link,
  valid CONFIRMATION_DAYS, that works once.
"""

import email.policy
import logging
import re
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
CONFIRMATION_SALT = "accounts.confirm-email"
CONFIRMATION_DAYS = 3


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


def as_sender_name(name):
    """`name` as the From header shows it: without the characters of an address (< > @ " ,),
    which mail apps would show as one (`PayPal" <security@paypal.com>` reads as PayPal's)."""
    return " ".join(re.sub(r'[<>@",]', " ", name).split())


def compose(template, context, to, *, sender_name="", reply_to=None, headers=None, inline_images=None):
    """A Mail from `template`_subject.txt, .txt and .html (the last two extend the layout)
    rendered with `context` (plus `site_url` and `subject`), to one address, from `sender_name`
    at DEFAULT_FROM_EMAIL's address."""
    context = {**context, "site_url": settings.VIEWPORT_SITE_URL}
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    context["subject"] = subject
    default_name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    mail = Mail(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=formataddr((as_sender_name(sender_name) or default_name, address)),
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


# Mail to clients


def client_mail(photographer, address, template, context, inline_images=None):
    """A mail to a client at `address` on `photographer`'s behalf: from their name at our own
    address, Reply-To them, in their brand (brand()), with a one-click unsubscribe from their
    mails (header and footer)."""
    url = unsubscribe_url(photographer, address)
    brand_context, brand_images = brand(photographer)
    return compose(
        template,
        {**context, **brand_context, "unsubscribe_url": url},
        address,
        sender_name=photographer.name,
        reply_to=photographer.email,
        # RFC 8058: a mail client may POST to the URL to unsubscribe in one click.
        headers={"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        inline_images={**brand_images, **(inline_images or {})},
    )


def send_to_client(photographer, key, mail, counted=False, typed_on=None):
    """Send a client_mail() of `photographer`'s once per `key`, unless their own address is not
    confirmed (nothing goes out on an unconfirmed account's behalf), the recipient unsubscribed
    from their mails, or a limit would be passed. True if it was sent now.

    - An address the photographer gave (a link sent, its reminder) counts against their daily
      recipient limit (RATE_LIMITS["mail-recipients"]); `counted`: the caller counted it already,
      as sending a link counts all its recipients at once.
    - An address a visitor typed on the share link `typed_on` (favourites' resume link, the
      expiry reminder to such a visitor) never does, so that anonymous visitors cannot use the
      photographer's limit up: it gets at most one mail a day from that link, and the link's
      visitors (and all the photographer's links' visitors) a limited number in all
      (RATE_LIMITS["visitor-mail"]). Such mails carry no text a visitor typed.
    """
    [address] = mail.to
    if not photographer.is_email_verified:
        return False
    if is_unsubscribed(photographer, address) or SentMail.objects.filter(key=key).exists():
        return False
    try:
        if typed_on is not None:
            address = mailbox(address)
            throttling.consume("visitor-mail", link=typed_on.pk, address=address, photographer=photographer.pk)
        elif not counted:
            throttling.consume("mail-recipients", photographer=photographer.pk)
    except throttling.RateLimited:
        return False
    return send_once(key, mail)


def mailbox(address):
    """The mailbox `address` reaches, for limits per address: "Bob+x"@Example.com, "b\\ob"@example.com
    and bob@example.com are one (quotes and escapes undone, lower case, no +tag)."""
    local, _, domain = address.rpartition("@")
    if local.startswith('"') and local.endswith('"') and len(local) > 1:
        local = local[1:-1]
    local = re.sub(r"\\(.)", r"\1", local).lower().partition("+")[0]
    return f"{local}@{domain.lower().rstrip('.')}"


# Unsubscribing


def unsubscribe_url(photographer, address):
    token = signing.dumps([str(photographer.pk), address], salt=UNSUBSCRIBE_SALT, compress=True)
    return settings.VIEWPORT_SITE_URL + reverse("unsubscribe", args=[token])


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


# Confirming an account's address


def confirmation_mail(user):
    """The mail that asks `user` to confirm their address: a link with a signed token naming the
    account and the address, valid CONFIRMATION_DAYS."""
    token = signing.dumps([str(user.pk), user.email], salt=CONFIRMATION_SALT, compress=True)
    url = settings.VIEWPORT_SITE_URL + reverse("accounts:confirm_email", args=[token])
    context = {"user": user, "confirm_url": url, "days": CONFIRMATION_DAYS}
    return compose("accounts/mail/confirm_email", context, user.email)


def read_confirmation_token(token):
    """(user, address) from a confirmation link made in the last CONFIRMATION_DAYS, or None. The
    address may no longer be the account's (it was changed since): the link then confirms nothing."""
    try:
        user_id, address = signing.loads(token, salt=CONFIRMATION_SALT, max_age=timedelta(days=CONFIRMATION_DAYS))
    except (signing.BadSignature, ValueError, TypeError):
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    return (user, address) if user else None
