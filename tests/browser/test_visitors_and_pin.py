"""A link that asks visitors for their address and protects downloads with a PIN, in a real
browser, with JavaScript and without: the visitor registers, sees the gallery, clicks a
download, types the PIN and gets the file; the photographer sees who did what."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.helpers import photographer_page, serious_accessibility_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PIN = "4711"


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_visitor_registers_types_the_pin_and_downloads(
    new_context, watcher, live_server, shared_gallery, javascript, screenshot_dir
):
    link = shared_gallery
    link.require_email = True
    link.set_download_pin(PIN)
    link.save()
    watcher.allow(r"status of 401")
    page = new_context(java_script_enabled=javascript).new_page()

    assert page.goto(link.get_absolute_url()).status == 401
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    expect(page.get_by_text("Iceland, June")).to_have_count(0)
    expect(page.locator("img")).to_have_count(0)
    page.get_by_label("Your e-mail address").fill("ana@example.com")
    page.get_by_label("Your name").fill("Ana")
    page.screenshot(path=screenshot_dir / f"register-{'js' if javascript else 'nojs'}.png")
    if javascript:  # axe-core runs in the page
        assert serious_accessibility_violations(page) == []
    page.get_by_role("button", name="See the photos").click()
    expect(page.get_by_role("heading", name="Iceland, June")).to_be_visible()

    # Download all: the PIN form first, then the ZIP, without a page of its own to go back from.
    page.get_by_role("link", name="Download all").click()
    expect(page.get_by_role("heading", name="Download PIN")).to_be_visible()
    page.get_by_label("PIN").fill("0000")
    page.get_by_role("button", name="Download").click()
    expect(page.get_by_text("That PIN is not right")).to_be_visible()
    page.screenshot(path=screenshot_dir / f"download-pin-{'js' if javascript else 'nojs'}.png")
    if javascript:
        assert serious_accessibility_violations(page) == []
    page.get_by_label("PIN").fill(PIN)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == "Iceland, June.zip"
    expect(page.get_by_role("heading", name="Downloads are open")).to_be_visible()
    # From now on a tile's download needs nothing more.
    page.get_by_role("link", name="Back to the gallery").click()
    with page.expect_download() as single:
        page.locator(".tile__download").first.click(force=True)
    assert single.value.suggested_filename.endswith(".jpg")

    photographer = photographer_page(new_context, link.gallery.owner, live_server)
    photographer.goto(reverse("sharing:share_link_detail", args=[link.pk]))
    visitors = photographer.locator(
        "section", has=photographer.get_by_role("heading", name="Visitors who gave their address")
    )
    expect(visitors.get_by_text("ana@example.com")).to_be_visible()
    expect(visitors.locator("tbody tr")).to_have_count(1)
    visitors.screenshot(path=screenshot_dir / "link-visitors.png")
    if javascript:
        assert serious_accessibility_violations(photographer) == []
