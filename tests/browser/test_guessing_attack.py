"""The right password always gets in (issue 23): after 150 wrong tries from 15 networks, a client
on a fresh network types the password in a real browser and presses Enter; the browser solves
the proof-of-work challenge by itself (no box to tick) and the gallery opens."""

import time

import pytest
from django.conf import settings as project_settings
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from testing.challenges import solution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "northern lights"


def guess_wrong(link, network, tries):
    """`tries` wrong passwords from `network`, as a client behind the proxy, each with a solved
    challenge: every one of them is checked and counted."""
    client = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=network)
    for _ in range(tries):
        response = client.post(
            reverse("sharing:unlock", args=[link.pk]),
            {"password": "guess", "altcha": solution(link=link, action="link-password")},
        )
        assert response.status_code == 401 and "not right" in response.content.decode()


def test_the_right_password_gets_in_after_150_wrong_tries_from_15_networks(
    new_context, watcher, shared_gallery, settings, capsys
):
    settings.VIEWPORT_PROXY_COUNT = 1
    shared_gallery.set_password(PASSWORD)
    shared_gallery.save()
    for network in range(15):
        guess_wrong(shared_gallery, f"198.51.100.{network + 1}", 10)
    refused = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1").post(
        reverse("sharing:unlock", args=[shared_gallery.pk]), {"password": PASSWORD}
    )
    assert refused.status_code == 429  # that network has had its ten

    # The client's browser, on a network of its own, solves a challenge of the real cost.
    settings.VIEWPORT_CHALLENGE_COST = project_settings.VIEWPORT_CHALLENGE_COST
    watcher.allow(r"status of 401")
    page = new_context().new_page()
    assert page.goto(shared_gallery.get_absolute_url()).status == 401
    expect(page.get_by_role("heading", name="Password needed")).to_be_visible()
    expect(page.get_by_role("checkbox")).to_have_count(0)  # nothing to tick
    page.get_by_label("Password").fill(PASSWORD)
    started = time.monotonic()
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="Iceland, June")).to_be_visible(timeout=30_000)
    with capsys.disabled():
        print(f"\nUnlocked under attack in {time.monotonic() - started:.2f} s (challenge, request, page)")
    expect(page.locator("[data-gallery] img").first).to_be_visible()
