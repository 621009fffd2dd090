"""A share link's page in a real browser: the 30-day chart is drawn (an SVG with a bar per day and
series), its table opens, the send form works, with no console or CSP error and no serious
accessibility problem; and the sparklines on the gallery page."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from sharing.models import Invitation, LinkDay
from tests.browser.helpers import photographer_page, serious_accessibility_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def link_with_history(shared_gallery):
    today = timezone.localdate()
    for days_ago, views in [(0, 6), (1, 3), (7, 12), (29, 1)]:
        LinkDay.objects.create(
            link=shared_gallery,
            day=today - timedelta(days=days_ago),
            views=views,
            unique_visitors=views // 2,
            zip_downloads=days_ago % 3,
            single_downloads=1,
        )
    return shared_gallery


def test_the_link_page_draws_its_chart_and_table_and_sends_the_link(new_context, live_server, link_with_history):
    link = link_with_history
    page = photographer_page(new_context, link.gallery.owner, live_server)
    page.goto(f"/share-links/{link.pk}/")

    chart = page.locator(".chart__svg")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box["width"] > 300 and box["height"] > 100
    assert page.locator(".chart__views").count() == 30
    # The tallest bar (12 views a week ago) is drawn to the chart's full height, in the accent colour.
    tallest = page.locator(".chart__views").nth(22)
    assert tallest.bounding_box()["height"] == pytest.approx(box["height"], abs=2)
    assert tallest.evaluate("(bar) => getComputedStyle(bar).fill") not in ("", "none", "rgb(0, 0, 0)")

    table = page.locator(".stats-table table")
    expect(table).to_be_hidden()
    page.locator(".stats-table summary").click()
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(30)
    assert serious_accessibility_violations(page) == []

    page.fill("textarea[name=emails]", "anna@example.com\nben@example.com")
    page.fill("textarea[name=message]", "Your photos are ready.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Sending the link to 2 addresses")
    expect(page.locator(".sent-list li")).to_have_count(2)
    assert Invitation.objects.filter(link=link).count() == 2 and len(mail.outbox) == 2


def test_the_gallery_page_shows_a_sparkline_per_link(new_context, live_server, link_with_history):
    link = link_with_history
    page = photographer_page(new_context, link.gallery.owner, live_server)
    page.goto(f"/galleries/{link.gallery.pk}/sharing/")
    sparkline = page.locator(".sparkline")
    expect(sparkline).to_have_count(1)
    expect(sparkline).to_have_attribute("aria-label", "22 views in the last 30 days")
    assert sparkline.bounding_box()["width"] > 50
