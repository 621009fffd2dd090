"""Background tasks of share links: e-mailing a link, expiry reminders, the photographers'
daily digest and pruning the visitor hashes. Periodic ones are enqueued by the scheduler
(`manage.py crontask`); each is safe to run twice (accounts.mail.send_once)."""

import base64
from collections import defaultdict
from datetime import date, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.tasks import task
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.mail import client_mail, send_to_client
from accounts.models import SentMail
from accounts.tasks import notify_photographer
from galleries.storage import STORAGE_ERRORS
from galleries.tasks import periodic
from sharing import stats
from sharing.models import MAX_REMIND_DAYS, Invitation, LinkDay, ShareLink


def _keystream(nonce, length):
    """HMAC-SHA256 in counter mode, keyed with the site's secret: as many bytes as `length`."""
    blocks = b""
    counter = 0
    while len(blocks) < length:
        blocks += salted_hmac("sharing.password-in-mail", f"{nonce}:{counter}", algorithm="sha256").digest()
        counter += 1
    return blocks[:length]


def seal_password(password, nonce):
    """The link's password as a queued invitation carries it to the worker: encrypted with a key
    only the site has (a stream from its secret and the invitation's id, used once), so that the
    task queue in the database never holds it readable. Links keep only the password's hash."""
    data = password.encode()
    return base64.b64encode(bytes(a ^ b for a, b in zip(data, _keystream(nonce, len(data)), strict=True))).decode()


def unseal_password(sealed, nonce):
    data = base64.b64decode(sealed)
    return bytes(a ^ b for a, b in zip(data, _keystream(nonce, len(data)), strict=True)).decode()


@task
def send_invitation(invitation_id, sealed_password=""):
    """E-mail a share link to the person of an Invitation, once, with the link's password when
    the photographer typed it again (sealed_password). Returns whether it was sent."""
    invitation = Invitation.objects.select_related("link__gallery__owner").filter(pk=invitation_id).first()
    if invitation is None:
        return False
    password = unseal_password(sealed_password, invitation.pk) if sealed_password else ""
    if password and not invitation.link.check_password(password):
        password = ""  # the link's password changed since: the mail says to ask for it
    mail = link_mail(
        "sharing/mail/invitation", invitation.link, invitation.email, message=invitation.message, password=password
    )
    # Its recipients were counted against the daily limit when the link was sent, all at once.
    return send_to_client(invitation.link.gallery.owner, f"invitation:{invitation.pk}", mail, counted=True)


@periodic("5 * * * *")
@task
def send_expiry_reminders():
    """Every hour: queue a reminder for each recipient of each link whose reminder is due."""
    now = timezone.now()
    links = ShareLink.objects.active().filter(
        remind_days__gt=0, expires_at__isnull=False, expires_at__lte=now + timedelta(days=MAX_REMIND_DAYS)
    )
    queued = 0
    for link in links:
        if link.reminder_due(now):
            reminded = set(
                SentMail.objects.filter(key__startswith=f"reminder:{link.pk}:").values_list("key", flat=True)
            )
            for address in link.reminder_recipients():
                if reminder_key(link, address) not in reminded:
                    send_reminder.enqueue(str(link.pk), address)
                    queued += 1
    return queued


def reminder_key(link, address):
    return f"reminder:{link.pk}:{address}"


@task
def send_reminder(link_id, address):
    """Remind one person that a link expires soon: once per link and person, ever, so a link
    whose expiry moves back and forth reminds nobody twice."""
    link = ShareLink.objects.select_related("gallery__owner").filter(pk=link_id).first()
    if link is None or not link.reminder_due():
        return False
    # Someone the link was sent to counts against the photographer's daily limit like any mail
    # to clients; a visitor who typed their address (sharing.extensions) against the link's
    # visitor-mail limits. One that does not fit today is tried again by the next hourly run.
    typed_by_visitor = not link.invitations.filter(email=address).exists()
    mail = link_mail("sharing/mail/reminder", link, address)
    return send_to_client(
        link.gallery.owner, reminder_key(link, address), mail, typed_on=link if typed_by_visitor else None
    )


def link_mail(template, link, address, **context):
    """A mail about `link` to a client (accounts.mail.client_mail), with the gallery's cover
    thumbnail inside it unless the link has a password (a forwarded mail must not show what the
    password protects)."""
    cover = None if link.has_password else link.gallery.cover_or_first_photo()
    cover_bytes = thumbnail_bytes(cover) if cover else None
    context = {
        **context,
        "link": link,
        "gallery": link.gallery,
        "link_url": settings.VIEWPORT_SITE_URL + link.get_absolute_url(),
        "has_cover": bool(cover_bytes),
    }
    images = {"cover": cover_bytes} if cover_bytes else {}
    # The expiry is the photographer's date, and says in which time zone.
    photographer = link.gallery.owner
    with timezone.override(photographer.zone):
        context["time_zone"] = photographer.time_zone
        return client_mail(photographer, address, template, context, inline_images=images)


def thumbnail_bytes(photo):
    """The photo's grid thumbnail (a small JPEG), or None if storage cannot give it now."""
    try:
        with default_storage.open(photo.thumbnail_object_key) as thumbnail:
            return thumbnail.read()
    except (OSError, *STORAGE_ERRORS):
        return None


@periodic("15 0 * * *")
@task
def send_daily_digests(day=None):
    """Just after midnight: each photographer whose links were opened the day before (`day`,
    ISO) gets a summary, unless they turned it off. Photographers without activity get none."""
    day = date.fromisoformat(day) if day else timezone.localdate() - timedelta(days=1)
    by_owner = defaultdict(list)
    rows = LinkDay.objects.filter(day=day).select_related("link__gallery").order_by("-views")
    for row in stats.with_other_counters(list(rows)):
        by_owner[row.link.gallery.owner_id].append(row)
    for owner_id, rows in by_owner.items():
        context = {"day": day.isoformat(), "links": [digest_line(row) for row in rows]}
        notify_photographer.enqueue(str(owner_id), "daily_digest", f"{owner_id}:{day}", context)
    return len(by_owner)


def digest_line(row):
    link = row.link
    return {
        "name": link.label or str(link.gallery),
        "gallery": str(link.gallery),
        "url": settings.VIEWPORT_SITE_URL + reverse("sharing:share_link_detail", args=[link.pk]),
        **{name: getattr(row, name) for name in stats.columns()},
    }


@periodic("30 3 * * *")
@task
def prune_visitor_hashes():
    """Every night: delete visitor hashes older than VIEWPORT_VISITOR_HASH_DAYS (counts stay)."""
    return stats.prune_visitor_hashes(settings.VIEWPORT_VISITOR_HASH_DAYS)
