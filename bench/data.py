"""Photographers, sessions and galleries for the benchmarks, made directly in the stack's database
(the benchmark process runs Django with the app's settings: bench/__main__.py sets it up)."""

import re
import urllib.parse

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.middleware.csrf import _get_new_csrf_string

from galleries.models import Gallery, Photo, natural_sort_key
from sharing.models import ShareLink

PASSWORD = "bench-password-Viewport-2026!"


def create_user(email="bench@example.com"):
    User = get_user_model()
    return User.objects.filter(email=email).first() or User.objects.create_user(email=email, password=PASSWORD)


def login(stack, user):
    """(cookies, how) for a logged-in session: through the login form if it works, else made directly."""
    try:
        status, headers, body = stack.request("GET", "/accounts/login/")
        csrf = _cookie(headers, "csrftoken")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if status == 200 and csrf and token:
            form = urllib.parse.urlencode(
                {"email": user.email, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1).decode()}
            )
            status, headers, _ = stack.request(
                "POST",
                "/accounts/login/",
                body=form,
                cookies={"csrftoken": csrf},
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            session = _cookie(headers, "sessionid")
            if status in (302, 303) and session:
                return {"csrftoken": csrf, "sessionid": session}, "login form"
    except OSError:
        pass
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return {"sessionid": session.session_key, "csrftoken": _get_new_csrf_string()}, "session made directly"


def _cookie(headers, name):
    for value in headers.get_all("Set-Cookie") or []:
        match = re.match(rf"{name}=([^;]*)", value)
        if match:
            return match.group(1)
    return None


def make_gallery(user, count, *, name=None, file_size=10_000_000, prefix="IMG_", width=6000, height=4000, share=True):
    """A gallery of `count` photo rows (no pixels), inserted in bulk; returns (gallery, share_link).
    Their download facts (galleries/copies.py) are made up: set the real ones where it matters."""
    gallery = Gallery.objects.create(owner=user, name=name or f"Bench {count} photos")
    photos = []
    for i in range(count):
        filename = f"{prefix}{i:05d}.jpg"
        photo = Photo(
            gallery=gallery,
            original_filename=filename,
            sort_key=natural_sort_key(filename),
            content_type="image/jpeg",
            file_size=file_size,
            width=width if i % 5 else height,
            height=height if i % 5 else width,
            crc32=0,
            private_metadata=[],
            stripped_crc32=0,
            preview_crc32=0,
        )
        photo.assign_object_keys()
        photos.append(photo)
    Photo.objects.bulk_create(photos, batch_size=1000)
    link = ShareLink.objects.create(gallery=gallery) if share else None
    return gallery, link
