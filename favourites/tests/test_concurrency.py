"""Hearts under real concurrency: parallel HTTP requests to a live server on PostgreSQL."""

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.urls import reverse

from favourites.models import Favourite, FavouriteList, FavouritesSettings
from favourites.tests.factories import FavouritesLinkFactory
from galleries.tests.factories import GalleryFactory, PhotoFactory

pytestmark = pytest.mark.django_db(transaction=True)

PARALLEL = 50
CSRF = "c" * 32


def post(live_server, path, data=None, cookie="", client_address="198.51.100.1"):
    """A POST as a browser on the site sends it (the live server believes it came over TLS)."""
    request = urllib.request.Request(
        live_server.url + path,
        data=json.dumps(data or {}).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-Forwarded-Proto": "https",
            "Referer": live_server.url.replace("http://", "https://") + "/",
            "X-CSRFToken": CSRF,
            "Cookie": f"csrftoken={CSRF}; {cookie}",
            "X-Forwarded-For": client_address,
        },
    )
    for attempt in range(3):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.headers
        except ConnectionResetError:
            # Django's live server (not gunicorn) drops a connection now and then under a burst
            # on a loaded machine; hearts are idempotent, so send it again.
            if attempt == 2:
                raise


def start_list(live_server, link, name, client_address="198.51.100.1"):
    status, headers = post(
        live_server, reverse("favourites:favourite_list", args=[link.pk]), {"name": name}, client_address=client_address
    )
    assert status == 201
    return headers["Set-Cookie"].split(";")[0]


@pytest.fixture(autouse=True)
def behind_a_proxy(settings):
    settings.VIEWPORT_PROXY_COUNT = 1  # fifty clients, each from an address of its own


@pytest.fixture
def link(db):
    gallery = GalleryFactory()
    PhotoFactory.create_batch(PARALLEL, gallery=gallery)
    return FavouritesLinkFactory(gallery=gallery, favourites=True)


def test_fifty_hearts_at_once_on_one_list_lose_none_and_pass_no_limit(live_server, link):
    FavouritesSettings.objects.filter(link=link).update(favourites_limit=20)
    cookie = start_list(live_server, link, "Ana")
    photos = list(link.gallery.photos.all())
    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(
            pool.map(
                lambda photo: post(
                    live_server, reverse("favourites:favourite_add", args=[link.pk, photo.pk]), cookie=cookie
                )[0],
                photos,
            )
        )
    assert sorted(set(statuses)) == [200, 409]
    assert statuses.count(200) == 20 and Favourite.objects.count() == 20


def test_fifty_clients_hearting_at_once_each_keep_their_heart(live_server, link):
    cookies = [start_list(live_server, link, f"Guest {n}", f"198.51.100.{n + 10}") for n in range(PARALLEL)]
    photo = link.gallery.photos.first()
    path = reverse("favourites:favourite_add", args=[link.pk, photo.pk])
    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(pool.map(lambda cookie: post(live_server, path, cookie=cookie)[0], cookies))
    assert statuses == [200] * PARALLEL
    assert Favourite.objects.filter(photo=photo).count() == PARALLEL == FavouriteList.objects.count()
