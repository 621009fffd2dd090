"""The full-screen viewer in a real browser (headless Chromium), under the site's CSP."""

import re

import pytest
from django.db import connections
from django.urls import reverse

from galleries.tests.factories import GalleryFactory, jpeg_upload
from sharing.tests.factories import ShareLinkFactory

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(live_server):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        # The live server's middleware was built before the tests' settings: say we came over TLS.
        context = browser.new_context(extra_http_headers={"X-Forwarded-Proto": "https"})
        page = context.new_page()
        page.errors = []
        page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        yield page
        browser.close()
        # Code run inside sync_playwright() sees its own asgiref context, hence its own database
        # connection: close it, or the test database cannot be dropped at the end.
        connections.close_all()


def test_viewer_opens_steps_through_photos_and_closes(live_server, page, photo_storage):
    gallery = GalleryFactory()
    photos = [gallery.add_photo(jpeg_upload(f"IMG_{n}.jpg", width=320, height=240)) for n in range(3)]
    link = ShareLinkFactory(gallery=gallery)
    url = live_server.url + link.get_absolute_url()
    page.goto(url)
    dialog = page.locator("dialog[data-viewer]")
    image = page.locator("[data-viewer-image]")

    page.locator("a[data-photo]").first.click()
    playwright.expect(dialog).to_be_visible()
    assert page.url.endswith(f"#photo-{photos[0].pk}")
    playwright.expect(page.locator("[data-viewer-prev]")).to_be_hidden()
    playwright.expect(page.locator("[data-viewer-close]")).to_be_focused()

    page.keyboard.press("ArrowRight")
    assert page.url.endswith(f"#photo-{photos[1].pk}")
    playwright.expect(image).to_have_attribute("src", reverse("sharing:public_preview", args=[link.pk, photos[1].pk]))
    playwright.expect(page.locator("[data-viewer-count]")).to_have_text("2 / 3")
    playwright.expect(page.locator("[data-viewer-download]")).to_have_attribute(
        "href", reverse("sharing:photo_download", args=[link.pk, photos[1].pk])
    )
    playwright.expect(image).not_to_have_class(re.compile("is-loading"))  # the preview loaded

    for _ in range(4):  # focus stays inside the dialog
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('dialog') !== null")

    page.keyboard.press("Escape")
    playwright.expect(dialog).to_be_hidden()
    assert "#photo-" not in page.url

    # A bookmarked photo opens straight in the viewer.
    page.goto(f"{url}#photo-{photos[2].pk}")
    playwright.expect(dialog).to_be_visible()
    playwright.expect(page.locator("[data-viewer-next]")).to_be_hidden()
    assert page.errors == []  # no script errors, no CSP violations
