"""An account whose address is not confirmed is told so on every page, and can have the link
sent again; sending a share link says to confirm first."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.factories import UserFactory
from sharing.tests.factories import ShareLinkFactory
from tests.browser.helpers import photographer_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_unconfirmed_account_sees_the_banner_and_cannot_send(new_context, watcher, live_server, screenshot_dir):
    user = UserFactory(display_name="Lena Hart", email_verified_at=None)
    link = ShareLinkFactory(gallery__owner=user, gallery__name="Smith wedding")
    page = photographer_page(new_context, user, live_server, size="phone")
    page.goto(reverse("galleries:gallery_list"))
    banner = page.locator(".confirm-banner")
    expect(banner).to_contain_text(f"we sent a link to {user.email}")
    page.screenshot(path=screenshot_dir / "confirm-banner-phone.png")
    banner.get_by_role("button", name="Send the link again").click()
    expect(page.get_by_text(f"We sent a new link to {user.email}")).to_be_visible()

    watcher.allow(r"status of 403")
    page.goto(reverse("sharing:share_link_detail", args=[link.pk]))
    page.get_by_label("Send to").fill("anna@example.com")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Confirm your e-mail address first")).to_be_visible()
    assert not link.invitations.exists()
