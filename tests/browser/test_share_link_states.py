"""What a client sees when a share link no longer works."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.helpers import log_in, open_viewer, wait_for_images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_expired_link_shows_the_friendly_expired_page(new_context, watcher, shared_gallery):
    shared_gallery.expires_at = timezone.now() - timedelta(minutes=1)
    shared_gallery.save()
    watcher.allow(r"status of 410")  # Chromium logs every error status as a console error
    page = new_context().new_page()

    response = page.goto(shared_gallery.get_absolute_url())

    assert response.status == 410
    expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()
    expect(page.get_by_text(f"contact {shared_gallery.gallery.owner.name}")).to_be_visible()
    expect(page.locator("img")).to_have_count(0)


def test_revoked_link_shows_not_found(new_context, watcher, live_server, shared_gallery):
    photographer = new_context()
    log_in(photographer, shared_gallery.gallery.owner, live_server)
    page = photographer.new_page()
    page.goto(f"/galleries/{shared_gallery.gallery.pk}/sharing/")
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


def test_a_client_unlocks_a_password_gallery_views_and_downloads(new_context, watcher, shared_gallery):
    shared_gallery.set_password("northern lights")
    shared_gallery.save()
    watcher.allow(r"status of 401")
    page = new_context().new_page()

    response = page.goto(shared_gallery.get_absolute_url())
    assert response.status == 401
    expect(page.get_by_role("heading", name="Password needed")).to_be_visible()
    expect(page.locator("main").get_by_text("Lena Hart Photography")).to_be_visible()
    expect(page.get_by_text("Iceland, June")).to_have_count(0)
    expect(page.locator("img")).to_have_count(0)

    page.get_by_label("Password").fill("wrong guess")
    page.get_by_role("button", name="Open the gallery").click()
    expect(page.get_by_role("alert")).to_have_text("That password is not right. Please try again.")

    page.get_by_label("Password").fill("northern lights")
    page.get_by_role("button", name="Open the gallery").click()
    expect(page.get_by_role("heading", name="Iceland, June")).to_be_visible()
    thumbnails = "[data-gallery] img:not(.photo-placeholder)"  # (each has a placeholder under it)
    expect(page.locator(thumbnails)).to_have_count(7)
    assert all(width > 0 for width in wait_for_images(page, thumbnails))  # through the unlock cookie

    open_viewer(page)
    with page.expect_download() as download:
        page.locator("[data-viewer-download]").click()
    assert download.value.suggested_filename.endswith(".jpg")
    page.keyboard.press("Escape")

    with page.expect_download() as archive:
        page.get_by_role("link", name="Download all").click()
    assert archive.value.suggested_filename == "Iceland, June.zip"
    shared_gallery.refresh_from_db()
    assert (shared_gallery.views, shared_gallery.zip_downloads, shared_gallery.single_downloads) == (1, 1, 1)
