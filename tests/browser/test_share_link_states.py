"""What a client sees when a share link no longer works."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_expired_link_shows_the_friendly_expired_page(new_context, watcher, shared_gallery):
    shared_gallery.expires_at = timezone.now() - timedelta(minutes=1)
    shared_gallery.save()
    watcher.allow(r"status of 410")  # Chromium logs every error status as a console error
    page = new_context().new_page()

    response = page.goto(shared_gallery.get_absolute_url())

    assert response.status == 410
    expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()
    expect(page.get_by_text("contact the photographer")).to_be_visible()
    expect(page.locator("img")).to_have_count(0)


def test_revoked_link_shows_not_found(new_context, watcher, live_server, shared_gallery):
    photographer = new_context()
    log_in(photographer, shared_gallery.gallery.owner, live_server)
    page = photographer.new_page()
    page.goto(shared_gallery.gallery.get_absolute_url())
    page.once("dialog", lambda dialog: dialog.accept())  # "Revoke this link?"
    page.locator(".share-link").get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Share link revoked")).to_be_visible()
    expect(page.get_by_text("No share links yet.")).to_be_visible()

    watcher.allow(r"status of 404")
    client = new_context().new_page()
    response = client.goto(shared_gallery.get_absolute_url())

    assert response.status == 404
    expect(client.get_by_role("heading", name="Nothing here")).to_be_visible()
    expect(client.get_by_text("Iceland, June")).to_have_count(0)
