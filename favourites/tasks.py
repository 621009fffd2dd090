"""E-mails about favourites, sent through the task queue.

Each task finds its list by id and sends at most once (it records that it sent), so a task that
runs twice sends one e-mail.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from favourites.models import FavouriteList


def _mail(template, context, to, reply_to=None):
    subject = "".join(render_to_string(f"favourites/email/{template}_subject.txt", context).splitlines())
    mail = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"favourites/email/{template}.txt", context),
        to=to,
        reply_to=reply_to,
    )
    mail.attach_alternative(render_to_string(f"favourites/email/{template}.html", context), "text/html")
    mail.send()


@task
def send_resume_link(list_id):
    """Mail the client a personal link back to their favourites, from any device."""
    favourite_list = FavouriteList.objects.select_related("link__gallery__owner").filter(pk=list_id).first()
    if favourite_list is None or not favourite_list.email:
        return
    claimed = FavouriteList.objects.filter(pk=list_id, resume_sent_at__isnull=True).update(resume_sent_at=timezone.now())
    if not claimed:
        return  # sent already
    link = favourite_list.link
    token = favourite_list.new_email_token()
    context = {
        "favourite_list": favourite_list,
        "gallery": link.gallery,
        "photographer": link.gallery.owner.name,
        "title": link.favourites_title,
        "resume_url": settings.VIEWPORT_SITE_URL + reverse("favourites:resume", args=[link.pk, token]),
    }
    _mail("resume_link", context, [favourite_list.email], reply_to=[link.gallery.owner.email])


@task
def notify_photographer(list_id):
    """Tell the photographer that a client sent their favourites."""
    favourite_list = FavouriteList.objects.select_related("link__gallery__owner").filter(pk=list_id).first()
    if favourite_list is None or not favourite_list.is_submitted:
        return
    gallery = favourite_list.link.gallery
    context = {
        "favourite_list": favourite_list,
        "gallery": gallery,
        "count": favourite_list.favourites.count(),
        "favourites_url": settings.VIEWPORT_SITE_URL + reverse("favourites:gallery_favourites", args=[gallery.pk])
        + f"?list={favourite_list.pk}",
    }
    _mail("submitted", context, [gallery.owner.email], reply_to=[favourite_list.email] if favourite_list.email else None)
