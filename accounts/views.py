import logging
import uuid

from axes.helpers import get_cool_off
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from accounts import challenges, colours, mail
from accounts.forms import BrandingForm, LoginForm, PasswordResetForm, ProfileForm, SignupForm, WatermarkForm
from accounts.models import User
from accounts.tasks import send_address_confirmation
from accounts.throttling import ChallengeRequired, RateLimited, client_network, consume, needs_challenge
from galleries import watermarks
from galleries.images import Busy
from galleries.storage import STORAGE_ERRORS
from viewport.http import (
    answer,
    login_required,
    next_url,
    posted_data,
    refuse,
    refuse_form,
    show,
    too_many_requests,
)

# The brand's stylesheet and logo are served at URLs that change with them (User.brand_version).
BRAND_CACHE_SECONDS = 365 * 24 * 60 * 60
LOGO_NOT_STORED = (
    "Photo storage is unavailable right now, so the logo could not be stored and nothing was saved. "
    "Please try again in a minute."
)
WATERMARK_NOT_STORED = (
    "Photo storage is unavailable right now, so the image could not be stored and nothing was saved. "
    "Please try again in a minute."
)

logger = logging.getLogger(__name__)


def home(request):
    if request.user.is_authenticated:
        return redirect("galleries:gallery_list")
    return render(request, "home.html")


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("galleries:gallery_list")
    form = SignupForm(request.POST or None)
    client = client_network(request)
    if request.method == "POST" and form.is_valid():
        try:
            user = form.save_for(client, solved=challenges.is_solved(request.POST))
        except RateLimited as limited:
            return too_many_requests(request, limited, "accounts/signup.html", {"form": form})
        except ChallengeRequired:
            return render(request, "accounts/signup.html", {"form": form, "challenge": True}, status=400)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome to Viewport! Create your first gallery to get started.")
        ask_to_confirm(request, user)
        return redirect("galleries:gallery_list")
    context = {"form": form, "challenge": needs_challenge("signup", network=client)}
    return render(request, "accounts/signup.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        messages.success(request, "Your profile has been saved.")
        if form.email_changed:
            ask_to_confirm(request, user)
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


def brand_json(request, photographer):
    """The brand as scripts see it: the keys they may send (a logo comes back as its URL)."""
    return {
        "brand_name": photographer.brand_name,
        "logo": request.build_absolute_uri(photographer.logo_url) if photographer.logo_key else None,
        "accent_color": photographer.accent_color,
        "font": photographer.font,
        "website": photographer.website,
        "instagram": photographer.instagram,
        "contact_email": photographer.contact_email,
    }


@login_required
@require_http_methods(["GET", "POST"])
def branding(request):
    photographer = User.objects.get(pk=request.user.pk)  # a form that fails must not change request.user
    if request.method == "GET":
        form = BrandingForm(instance=photographer)
        return show(request, brand_json(request, photographer), "accounts/branding.html", {"form": form})
    form = BrandingForm(posted_data(request), request.FILES, instance=photographer)
    if not form.is_valid():
        return refuse_form(request, form, "accounts/branding.html")
    try:
        photographer = form.save()
    except STORAGE_ERRORS:
        logger.warning("Could not store a logo", exc_info=True)
        form.add_error("logo", LOGO_NOT_STORED)
        return refuse_form(request, form, "accounts/branding.html", status=503)
    saved = "Your brand has been saved. Clients see it on every gallery you share."
    return answer(request, brand_json(request, photographer), "accounts:branding", saved)


def watermark_json(request, photographer):
    """The watermark as scripts see it: the keys they may send (the image comes back as its URL)."""
    # ?v= changes with the watermark, so that a browser never shows an image it kept of another.
    image = f"{reverse('accounts:watermark_image')}?v={photographer.watermark_version}"
    return {
        "watermark_image": request.build_absolute_uri(image) if photographer.watermark_image_key else None,
        "watermark_text": photographer.watermark_text,
        "watermark_position": photographer.watermark_position,
        "watermark_opacity": photographer.watermark_opacity,
        "watermark_scale": photographer.watermark_scale,
        "watermark_version": photographer.watermark_version,
    }


@login_required
@require_http_methods(["GET", "POST"])
def watermark(request):
    photographer = User.objects.get(pk=request.user.pk)  # a form that fails must not change request.user
    if request.method == "GET":
        form = WatermarkForm(instance=photographer)
        return show(request, watermark_json(request, photographer), "accounts/watermark.html", {"form": form})
    form = WatermarkForm(posted_data(request), request.FILES, instance=photographer)
    if refused := watermark_refusal(request, form, "watermark-save"):
        return refused
    try:
        photographer = form.save()
    except STORAGE_ERRORS:
        logger.warning("Could not store a watermark image", exc_info=True)
        form.add_error("watermark_image", WATERMARK_NOT_STORED)
        return refuse_form(request, form, "accounts/watermark.html", status=503)
    saved = "Your watermark has been saved. Links with “Watermark” on show it from their next photo."
    return answer(request, watermark_json(request, photographer), "accounts:watermark", saved)


@login_required
@require_http_methods(["GET", "POST"])
def watermark_preview(request):
    """One of the photographer's photos with their watermark as a JPEG: the saved one (GET), or
    the one the page's form holds, not saved (POST, the same fields as the watermark's)."""
    photographer = User.objects.get(pk=request.user.pk)
    image = None
    if request.method == "POST":
        form = WatermarkForm(posted_data(request), request.FILES, instance=photographer)
        if refused := watermark_refusal(request, form, "watermark-preview"):
            return refused
        image = form.cleaned_data.get("watermark_image")
        if form.cleaned_data.get("watermark_image_clear"):
            photographer.watermark_image_key = ""
    response = HttpResponse(
        watermarks.sample(photographer, watermarks.watermark_of(photographer, image)), content_type="image/jpeg"
    )
    response["Cache-Control"] = "private, no-cache"
    return response


def watermark_refusal(request, form, action):
    """The answer to a watermark post that is refused: past its rate limit (`action`, per
    photographer: 429), invalid (400), or when no decode slot frees up for its image in time
    (503, nothing saved); None when it may go on."""
    unchanged = {"form": WatermarkForm(instance=form.instance)}  # the posted one is not validated
    try:
        consume(action, account=request.user.pk)
    except RateLimited as limited:
        return too_many_requests(request, limited, "accounts/watermark.html", unchanged)
    try:
        if form.is_valid():
            return None
    except Busy as busy:
        headers = {"Retry-After": str(busy.retry_after)}
        return refuse(request, 503, str(busy), "accounts/watermark.html", unchanged, headers=headers)
    return refuse_form(request, form, "accounts/watermark.html")


@login_required
@require_safe
def watermark_image(request):
    """The photographer's own watermark image (its URL changes with the watermark: ?v=)."""
    response = stored_png(request.user.watermark_image_key)
    response["Cache-Control"] = "private, max-age=3600"
    return response


def stored_png(key):
    """A small PNG of ours from photo storage (a logo, a watermark image), or a 404."""
    if not key:
        raise Http404("No such image.")
    try:
        return HttpResponse(default_storage.read_small(key), content_type="image/png")
    except FileNotFoundError:
        raise Http404("This image is missing from storage.") from None


def brand_photographer(photographer_id):
    return get_object_or_404(User, pk=photographer_id, is_active=True)


def cached_for_good(response, photographer, version):
    """Kept for a year at its current URL; an outdated URL answers the current brand briefly."""
    max_age = BRAND_CACHE_SECONDS if version == photographer.brand_version else 60
    response["Cache-Control"] = f"public, max-age={max_age}" + (", immutable" if max_age > 60 else "")
    return response


@require_safe
def brand_css(request, photographer_id, version):
    """The photographer's colours and font for client pages: a stylesheet from our own origin,
    so that the Content-Security-Policy needs no inline style."""
    photographer = brand_photographer(photographer_id)
    context = {
        "photographer": photographer,
        "palette": colours.accent_palette(photographer.accent_color) if photographer.accent_color else None,
    }
    response = render(request, "accounts/brand.css", context, content_type="text/css; charset=utf-8")
    return cached_for_good(response, photographer, version)


@require_safe
def brand_logo(request, photographer_id, version):
    photographer = brand_photographer(photographer_id)
    if not photographer.logo_key:
        raise Http404("No logo.")
    return cached_for_good(stored_png(photographer.logo_key), photographer, version)


@require_http_methods(["GET", "POST"])
def password_reset(request):
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return RedirectThenSend(reverse("accounts:password_reset_done"), form.save(client=client_network(request)))
    return render(request, "registration/password_reset_form.html", {"form": form})


class RedirectThenSend(HttpResponseRedirect):
    """A redirect that sends its e-mails once it has been delivered: the WSGI server calls
    close() after the last byte. A slow mail server then shows in no answer's timing."""

    def __init__(self, url, mails):
        super().__init__(url)
        self.mails = mails

    def close(self):
        super().close()
        for message in self.mails:
            try:
                message.send()
            except Exception:
                logger.exception("Could not send an e-mail to %s", message.to)


def ask_to_confirm(request, user):
    """Mail `user` a link to confirm their address and say so, within
    RATE_LIMITS["address-confirmation"]; past it, say when to ask again. True if it was sent."""
    try:
        consume("address-confirmation", account=user.pk, network=client_network(request), address=user.email.lower())
    except RateLimited as limited:
        messages.warning(request, f"We could not send a confirmation link now. {limited}")
        return False
    send_address_confirmation.enqueue(str(user.pk))
    messages.info(
        request,
        f"We sent a link to {user.email}: open it within {mail.CONFIRMATION_DAYS} days to confirm your address. "
        "Until then Viewport e-mails nobody on your behalf.",
    )
    return True


@login_required
@require_http_methods(["GET", "POST"])
def confirm_email_resend(request):
    """Send the confirmation link again (POST; a 429 past RATE_LIMITS["address-confirmation"]),
    or the page that offers to (GET)."""
    user = request.user
    back = next_url(request, reverse("galleries:gallery_list"))
    if request.method == "GET":
        return render(request, "accounts/confirm_email.html", {"resend": True})
    if user.is_email_verified:
        return answer(request, {"email": user.email, "confirmed": True}, back, "Your address is confirmed already.")
    try:
        consume("address-confirmation", account=user.pk, network=client_network(request), address=user.email.lower())
    except RateLimited as limited:
        return too_many_requests(request, limited, "accounts/confirm_email.html", {"resend": True})
    send_address_confirmation.enqueue(str(user.pk))
    sent = f"We sent a new link to {user.email}. It works for {mail.CONFIRMATION_DAYS} days."
    return answer(request, {"email": user.email, "confirmed": False}, back, sent, status=202)


@require_http_methods(["GET", "POST"])
def confirm_email(request, token):
    """A confirmation link from the mail: valid CONFIRMATION_DAYS, once, for the address it was
    sent to. Opened in the account's own session it confirms at once; elsewhere (a mail scanner
    that follows links, another browser) it shows a button, so that only a person confirms."""
    found = mail.read_confirmation_token(token)
    user, address = found or (None, None)
    if user is None or address != user.email or user.is_email_verified:
        message = (
            "Your address is confirmed already: this link has been used."
            if user and address == user.email
            else f"This confirmation link is not valid: it may be older than {mail.CONFIRMATION_DAYS} days, "
            "or for an address that is no longer the account’s. Log in to get a new one."
        )
        return render(request, "accounts/confirm_email.html", {"message": message, "resend": True}, status=400)
    if request.method == "POST" or request.user == user:
        user.confirm_email(address)
        if request.user == user:
            messages.success(
                request, f"Thank you: {address} is confirmed. You can e-mail your galleries to clients now."
            )
            return redirect("galleries:gallery_list")
        return render(request, "accounts/confirm_email.html", {"confirmed": address})
    return render(request, "accounts/confirm_email.html", {"address": address})


@never_cache
@require_safe
def challenge(request):
    """A new proof-of-work challenge for the widget of a form under attack (accounts.challenges).
    A share link's form asks with `?link=<id>&for=<action>`: its challenge is as hard as the
    link's recent wrong tries make it (challenges.cost())."""
    action, link = request.GET.get("for", ""), request.GET.get("link", "")
    try:
        keys = {"link": uuid.UUID(link)} if action in challenges.LINK_ACTIONS else None
    except ValueError:
        keys = None
    return JsonResponse(challenges.new_challenge(challenges.cost(action, **keys) if keys else None))


# RFC 8058's one-click unsubscribe is a POST from the mail client, which has no CSRF token: the
# signed token in the URL is what proves the request, and all it can do is stop mails.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """A client stops one photographer's e-mails: a page with a button (GET), or done (POST)."""
    found = mail.read_unsubscribe_token(token)
    context = {"valid": found is not None, "photographer": found and found[0], "address": found and found[1]}
    if request.method == "POST" and found:
        mail.unsubscribe(*found)
        context["done"] = True
    status = 200 if found else 400 if request.method == "POST" else 404
    return render(request, "accounts/unsubscribe.html", context, status=status)


def login_locked_out(request, response, credentials):
    """django-axes' answer once an account or an address has failed to log in too often."""
    minutes = max(1, round(get_cool_off(request).total_seconds() / 60))
    limited = RateLimited("login", retry_after=minutes * 60)
    return too_many_requests(request, limited, "429_locked_out.html", {"cooloff_minutes": minutes})
