"""E-mails about favourites: the client's resume link (through the task queue), and the
photographer's notice that a client sent their choice (accounts' notifications, which the
photographer may switch off in their profile)."""

from django.conf import settings
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from accounts.mail import client_mail, send_to_client
from accounts.tasks import notify_photographer
from favourites.models import FavouriteList, FavouritesSettings


@task
def send_resume_link(list_id):
    """Mail the client a personal link back to their favourites, from any device, once. Anyone
    may type any address here, so it is a mail to an address a visitor typed (accounts.mail):
    nothing in it was typed by the visitor (no name), it never counts against the photographer's
    daily limit, and an address gets at most one a day from the link."""
    favourite_list = FavouriteList.objects.select_related("link__gallery__owner").filter(pk=list_id).first()
    if favourite_list is None or not favourite_list.email:
        return False
    # Claimed before the token is made: a second run finds the claim and sends nothing.
    if not FavouriteList.objects.filter(pk=list_id, resume_sent_at__isnull=True).update(resume_sent_at=timezone.now()):
        return False
    link = favourite_list.link
    token = favourite_list.new_email_token()
    context = {
        "favourite_list": favourite_list,
        "gallery": link.gallery,
        "title": FavouritesSettings.of(link).favourites_title,
        "resume_url": settings.VIEWPORT_SITE_URL + reverse("favourites:resume", args=[link.pk, token]),
    }
    mail = client_mail(link.gallery.owner, favourite_list.email, "favourites/email/resume_link", context)
    # Past the limit the resume link stays on the visitor's page.
    return send_to_client(link.gallery.owner, f"resume:{favourite_list.pk}", mail, typed_on=link)


def notify_photographer_of(favourite_list):
    """Queue the photographer's notice that `favourite_list` was sent (once per sending)."""
    gallery = favourite_list.link.gallery
    address_required = FavouritesSettings.of(favourite_list.link).favourites_require_email or bool(
        favourite_list.link.require_email
    )
    context = {
        "name": favourite_list.name,
        "gallery": str(gallery),
        "count": favourite_list.favourites.count(),
        "favourites_url": settings.VIEWPORT_SITE_URL
        + reverse("favourites:gallery_favourites", args=[gallery.pk])
        + f"?list={favourite_list.pk}",
    }
    # From the site, not in the client's name; answering goes to their address only when the
    # link asked for it (and it is what they typed: nobody confirmed it).
    notify_photographer.enqueue(
        str(gallery.owner_id),
        "favourites",
        f"{favourite_list.pk}:{favourite_list.submitted_at.isoformat()}",
        {**context, "email": favourite_list.email if address_required else ""},
        reply_to=favourite_list.email if address_required else "",
    )
