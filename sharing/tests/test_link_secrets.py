"""A link's password and download PIN: stored as a keyed hash that costs the server nothing to
check (the rate limits stop guessing), hashes of before still work, and a network's wrong tries
count across all links."""

import altcha
import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.urls import reverse

from accounts import throttling
from accounts.models import RateLimitHit
from sharing.access import DOWNLOAD_PIN_COOKIE, UNLOCK_COOKIE
from sharing.models import ShareLink
from sharing.tests.factories import ShareLinkFactory
from testing.challenges import solution

pytestmark = pytest.mark.django_db
PASSWORD, PIN = "open sesame", "2468"


def unlock(client, link, password=PASSWORD, **headers):
    return client.post(reverse("sharing:unlock", args=[link.pk]), {"password": password}, **headers)


def enter_pin(client, link, pin=PIN, altcha=None, **headers):
    data = {"pin": pin, **({"altcha": altcha} if altcha else {})}
    return client.post(reverse("sharing:download_pin", args=[link.pk]), data, **headers)


def solution_of(challenge):
    challenge = altcha.Challenge.from_dict(challenge)
    return altcha.Payload(challenge, altcha.solve_challenge(challenge, timeout=30)).to_base64()


def test_passwords_and_pins_are_stored_as_a_keyed_hash(settings):
    link = ShareLinkFactory()
    link.set_password(PASSWORD)
    link.set_download_pin(PIN)
    link.save()
    for stored, secret in ((link.password_hash, PASSWORD), (link.download_pin_hash, PIN)):
        assert stored.startswith("hmac-sha256$") and secret not in stored
    assert link.check_password(PASSWORD) and not link.check_password("open sesame ")
    assert link.check_download_pin(PIN) and not link.check_download_pin("2469")
    # A new SECRET_KEY with the old one among the fallbacks: the secrets still work, hashed anew.
    before = link.password_hash
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "k" * 40
    assert link.check_password(PASSWORD) and ShareLink.objects.get(pk=link.pk).password_hash != before
    settings.SECRET_KEY_FALLBACKS = []
    assert ShareLink.objects.get(pk=link.pk).check_password(PASSWORD)


def test_hashes_of_before_keep_working_and_are_made_anew_at_the_right_entry(client):
    link = ShareLinkFactory(password_hash=make_password(PASSWORD), download_pin_hash=make_password(PIN))
    assert unlock(client, link, "wrong").status_code == 401
    assert ShareLink.objects.get(pk=link.pk).password_hash == link.password_hash  # a wrong one changes nothing
    response = unlock(client, link)
    assert response.status_code == 302 and UNLOCK_COOKIE in response.cookies
    assert enter_pin(client, link).status_code == 302 and DOWNLOAD_PIN_COOKIE in client.cookies
    link.refresh_from_db()
    assert link.password_hash.startswith("hmac-sha256$") and link.download_pin_hash.startswith("hmac-sha256$")
    assert client.get(link.get_absolute_url()).status_code == 200  # this browser's cookie names the new hash
    fresh = Client()
    assert unlock(fresh, link).status_code == 302 and enter_pin(fresh, link).status_code == 302


def test_a_networks_wrong_tries_count_across_all_links(settings):
    # Attack report 3: one account's own links each gave its network 10 fresh tries.
    settings.VIEWPORT_PROXY_COUNT = 1
    guesser = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    locked, pinned = [ShareLinkFactory() for _ in range(4)], [ShareLinkFactory() for _ in range(4)]
    for link in locked:
        link.set_password(PASSWORD)
        link.save()
    for link in pinned:
        link.set_download_pin(PIN)
        link.save()
    for n in range(3):
        for _ in range(10):
            assert unlock(Client(), locked[n], "guess", **guesser).status_code == 401
            assert enter_pin(Client(), pinned[n], "0000", **guesser).status_code == 401
    assert unlock(Client(), locked[3], "guess", **guesser).status_code == 429
    assert enter_pin(Client(), pinned[3], "0000", **guesser).status_code == 429
    other = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "192.0.2.20"}
    assert unlock(Client(), locked[3], **other).status_code == 302
    assert enter_pin(Client(), pinned[3], **other).status_code == 302


def test_challenges_grow_harder_with_a_links_wrong_tries(client, settings):
    # Attack report 4: a challenge cost about what one guess did however hard a link was attacked.
    link = ShareLinkFactory()
    link.set_download_pin(PIN)
    link.save()
    base = settings.VIEWPORT_CHALLENGE_COST
    fetch = reverse("accounts:challenge") + f"?link={link.pk}&for=download-pin"
    form = client.get(reverse("sharing:download_pin", args=[link.pk])).content.decode()
    for wrong, factor in ((0, 1), (20, 1), (40, 2), (80, 4), (1000, 8)):
        throttling.record("download-pin:challenge", link.pk, wrong - RateLimitHit.objects.count())
        assert client.get(fetch).json()["parameters"]["cost"] == base * factor, wrong
    assert f"?link={link.pk}&amp;for=download-pin" not in form  # no challenge while there are no wrong tries
    form = client.get(reverse("sharing:download_pin", args=[link.pk])).content.decode()
    assert f"?link={link.pk}&amp;for=download-pin" in form
    # A solution of a cheaper challenge (the signup's, one fetched before) is no solution here.
    cheap = enter_pin(client, link, PIN, altcha=solution())
    assert cheap.status_code == 401 and "proves it is a person" in cheap.content.decode()
    assert enter_pin(client, link, PIN, altcha=solution_of(client.get(fetch).json())).status_code == 302
