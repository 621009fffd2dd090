"""static/js/http.js, the one way the page's scripts talk to the server, in a real browser: the
uploader waits out a busy server (503 with Retry-After) and sends again, and shows the server's
own message for a file it refused."""

import re

import pytest
from playwright.sync_api import expect

from galleries.images import NOT_A_PHOTO
from galleries.tests.factories import GalleryFactory
from testing.photos import image_bytes
from tests.browser.helpers import photographer_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_uploader_waits_out_a_busy_server_and_shows_the_servers_message(
    new_context, live_server, watcher, tmp_path
):
    watcher.allow(r"status of (503|400)")  # Chromium logs every error status as a console error
    gallery = GalleryFactory(name="Busy day")
    page = photographer_page(new_context, gallery.owner, live_server)
    page.goto(gallery.get_absolute_url())
    photo, not_a_photo = tmp_path / "IMG_0001.jpg", tmp_path / "notes.jpg"
    photo.write_bytes(image_bytes(120, 80))
    not_a_photo.write_bytes(b"Shopping list: film, batteries.\n")

    # The first upload meets a server that is busy (as RequestLimitsMiddleware answers); the
    # request goes through unchanged once the uploader sends it again.
    busy = {"left": 1}

    def busy_once(route):
        if (
            busy["left"]
            and b"IMG_0001.jpg" in (route.request.post_data_buffer or b"")
            and route.request.method == "POST"
        ):
            busy["left"] -= 1
            route.fulfill(
                status=503,
                headers={"Retry-After": "1", "Content-Type": "application/json"},
                body='{"error": "Many photos are being processed right now."}',
            )
        else:
            route.continue_()

    page.route(re.compile(r"/uploads/$"), busy_once)
    page.locator("input[type=file][name=photos]").set_input_files([photo, not_a_photo])

    first, second = page.locator(".upload-item").nth(0), page.locator(".upload-item").nth(1)
    expect(first.locator(".upload-item__status")).to_have_text(
        "Waiting 1 s… Many photos are being processed right now."
    )
    expect(first).to_have_attribute("data-state", "done", timeout=15_000)
    expect(second).to_have_attribute("data-state", "failed")
    expect(second.locator(".upload-item__status")).to_have_text(NOT_A_PHOTO)
    expect(second.get_by_role("button", name="Retry")).to_be_visible()
    assert busy["left"] == 0 and gallery.photos.count() == 1
