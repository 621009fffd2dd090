"""The photographer's side of share links: create, list, change, revoke, send, statistics."""

import csv

from django.contrib import messages
from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import throttling
from galleries.forms import PhotoSelectionForm
from galleries.models import Gallery
from galleries.views import refused
from sharing import exports, extensions, stats, zips
from sharing.forms import LinkDefaultsForm, SendLinkForm, ShareLinkForm
from sharing.models import LinkDefaults, ShareLink, mark_being_guessed
from viewport.http import (
    answer,
    login_required,
    next_url,
    posted_data,
    refuse,
    refuse_form,
    sends_json,
    too_many_requests,
    wants_json,
)


def owned_link(request, link_id):
    links = ShareLink.objects.owned_by(request.user).select_related("gallery").with_extensions()
    return get_object_or_404(links, pk=link_id)


def link_json(request, link):
    """The link as scripts see it: its settings (other apps' too, sharing.extensions), never its
    password or the password's hash; and whether it is being guessed (ShareLink.guessing())."""
    guessing = link.guessing()
    data = {
        "id": str(link.pk),
        "url": request.build_absolute_uri(link.get_absolute_url()),
        "label": link.label,
        "expires_at": link.expires_at.isoformat() if link.expires_at else None,
        "is_active": link.is_active,
        "has_password": link.has_password,
        "has_download_pin": link.has_download_pin,
        "require_email": link.require_email,
        "allow_zip": link.allow_zip,
        "allow_single": link.allow_single,
        "download_size": link.download_size,
        "watermark": link.watermark,
        "strip_location": link.strip_location,
        "remind_days": link.remind_days,
        "failed_unlocks_last_hour": guessing.tries,
        "failed_unlock_networks_last_hour": guessing.networks,
        "under_guessing_attack": guessing.is_attack,
    }
    for extension in extensions.EXTENSIONS:
        data.update(extension.settings(link))
    return data


def link_form(request, link, defaults=None):
    """The link's settings form: a script's JSON body changes what it names, a form post is the
    whole form; a new link takes the photographer's `defaults` where the post says nothing."""
    return ShareLinkForm(posted_data(request), instance=link, partial=sends_json(request), defaults=defaults)


def invalid_form(request, form, link=None):
    context = {"link": link, "gallery": form.instance.gallery}
    return refuse_form(request, form, "sharing/sharelink_form.html", context)


def back(request, link):
    """The page the form was posted from (the share link list), else the gallery's sharing."""
    return next_url(request, reverse("galleries:gallery_sharing", args=[link.gallery_id]))


@login_required
@require_POST
def share_link_create(request, gallery_id):
    gallery = get_object_or_404(Gallery.objects.owned_by(request.user), pk=gallery_id)
    form = link_form(request, ShareLink(gallery=gallery), defaults=LinkDefaults.of(request.user))
    try:
        created = throttling.consume("link-create", account=request.user.pk)
    except throttling.RateLimited as limited:
        return too_many_requests(request, limited, "sharing/sharelink_form.html", {"form": form, "gallery": gallery})
    if not form.is_valid():
        created.take_back()  # only links made count
        return invalid_form(request, form)
    link = form.save()
    return answer(
        request,
        link_json(request, link),
        reverse("sharing:share_link_detail", args=[link.pk]),
        "Share link created. Copy it below, or send it to your client from here.",
        status=201,
    )


@login_required
@require_http_methods(["GET", "POST"])
def link_defaults(request):
    """What the photographer's new links start with (form or JSON: `default_<setting>`)."""
    if request.method == "GET":
        form = LinkDefaultsForm(photographer=request.user)
        return render(request, "sharing/link_defaults.html", {"form": form})
    form = LinkDefaultsForm(posted_data(request), photographer=request.user, partial=sends_json(request))
    if not form.is_valid():
        return refuse_form(request, form, "sharing/link_defaults.html")
    values = form.save()
    saved = "Defaults saved: your next share links start with them."
    return answer(request, {f"default_{name}": value for name, value in values.items()}, "sharing:link_defaults", saved)


@login_required
@require_GET
@zips.stream_slot_required
def photos_zip(request, gallery_id):
    """The photographer's own download of the photos selected in their gallery (`photo_ids`), as
    one ZIP of the originals in the gallery's order."""
    gallery = get_object_or_404(Gallery.objects.owned_by(request.user), pk=gallery_id)
    form = PhotoSelectionForm(gallery, request.GET)
    if not form.is_valid():
        return refused(request, gallery, form)
    photos = gallery.ordered_photos().filter(pk__in=form.cleaned_data["photo_ids"])
    count = len(form.cleaned_data["photo_ids"])
    return zips.zip_response(request, f"{gallery} - {count} photo{'s' if count != 1 else ''}", photos)


@login_required
@require_GET
def share_link_list(request):
    """Every link of the photographer's, filtered by `status` and searched by label or gallery (`q`)."""
    status = request.GET.get("status", "")
    query = request.GET.get("q", "").replace("\x00", "").strip()  # PostgreSQL refuses NUL in text
    share_links = (
        ShareLink.objects.owned_by(request.user).with_status(status).select_related("gallery").with_extensions()
    )
    if query:
        share_links = share_links.filter(Q(label__icontains=query) | Q(gallery__name__icontains=query))
    share_links = mark_being_guessed(stats.with_sparklines(share_links.order_by("-created_at")))
    context = {"share_links": share_links, "status": status, "query": query}
    return render(request, "sharing/sharelink_list.html", context)


@login_required
@require_GET
def share_link_detail(request, link_id):
    """One link: its settings, who it was sent to, its last 30 days, and who viewed what; for a
    script, the link's JSON."""
    link = owned_link(request, link_id)
    if wants_json(request):
        return JsonResponse(link_json(request, link))
    return render(request, "sharing/sharelink_detail.html", detail_context(request, link))


def detail_context(request, link, send_form=None):
    days = stats.days_of(link, days=stats.CHART_DAYS)
    columns, totals = stats.columns(), stats.totals(days)
    return {
        "link": link,
        "guessing": link.guessing(),
        "days": days,
        "columns": columns,
        "totals": totals,
        "summary": [(label, totals[name]) for name, label in columns.items()],
        "table": [(day.day, [getattr(day, name) for name in columns]) for day in reversed(days)],
        "send_form": send_form or SendLinkForm(link=link),
        "invitations": link.invitations.all()[:100],
        "activity": stats.identified_activity(link),
        "visitors": stats.visitors(link) if link.require_email or link.visitors.exists() else None,
        "visitor_columns": [stats.columns()[name] for name in stats.visitor_columns()],
    }


@login_required
@require_GET
def share_link_stats_csv(request, link_id):
    """Every day of the link's life, zeros included, as CSV."""
    link = owned_link(request, link_id)
    last = timezone.localdate(link.expires_at) if link.is_expired else None
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"share-link-{link.pk}-statistics.csv")
    writer = csv.writer(response)
    columns = stats.columns()
    writer.writerow(["date", *columns])
    for day in stats.days_of(link, last=last):
        writer.writerow([day.day.isoformat(), *(getattr(day, name) for name in columns)])
    return response


@login_required
@require_GET
def share_link_visitors_csv(request, link_id):
    """The visitors who gave their address on the link, with what they did, as CSV."""
    link = owned_link(request, link_id)
    sheet = exports.visitors_csv(stats.visitors(link), stats.visitor_columns())
    response = HttpResponse(sheet, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"share-link-{link.pk}-visitors.csv")
    return response


@login_required
@require_POST
def share_link_send(request, link_id):
    """E-mail the link to the addresses posted as `emails`, with `message`: all or none."""
    link = owned_link(request, link_id)
    if not request.user.is_email_verified:
        message = (
            f"Confirm your e-mail address first: open the link we sent to {request.user.email}. "
            "Until then Viewport e-mails nobody on your behalf. Nothing was sent."
        )
        return refuse(request, 403, message, "sharing/sharelink_detail.html", detail_context(request, link))
    form = SendLinkForm(posted_data(request), link=link)
    if not form.is_valid():
        if form.limited:
            return too_many_requests(
                request, form.limited, "sharing/sharelink_detail.html", detail_context(request, link, form)
            )
        return refuse_form(request, form, "sharing/sharelink_detail.html", detail_context(request, link, form))
    invitations = form.save()
    sent = [invitation.email for invitation in invitations]
    return answer(
        request,
        {"sent": sent, "unsubscribed": form.unsubscribed},
        reverse("sharing:share_link_detail", args=[link.pk]),
        sent and f"Sending the link to {len(sent)} address{'es' if len(sent) != 1 else ''}.",
        form.unsubscribed
        and (messages.WARNING, f"Not sent to {', '.join(form.unsubscribed)}: they unsubscribed from your e-mails."),
        status=202,
    )


@login_required
@require_POST
def share_link_update(request, link_id):
    link = owned_link(request, link_id)
    form = link_form(request, link)
    try:
        saved = throttling.consume("link-update", account=request.user.pk)
    except throttling.RateLimited as limited:
        return too_many_requests(
            request, limited, "sharing/sharelink_form.html", {"form": form, "link": link, "gallery": link.gallery}
        )
    if not form.is_valid():
        saved.take_back()  # only saves count
        return invalid_form(request, form, link)
    form.save()
    saved = f"Share link “{link.label}” saved." if link.label else "Share link saved."
    return answer(request, link_json(request, link), back(request, link), saved)


@login_required
@require_POST
def share_link_delete(request, link_id):
    link = owned_link(request, link_id)
    link.delete()
    return answer(request, None, back(request, link), "Share link revoked: it no longer opens the gallery.")
