"""The client's gallery in the photographer's brand: each cover layout at phone and desktop
sizes (screenshots for docs/SCREENSHOTS.md), a grid where photos share rows on a phone under a
band that leaves them room, the closed pages, and axe on all of them with every branding option
set."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.tests.factories import UserFactory
from galleries.models import Gallery
from galleries.tests.factories import jpeg_upload
from galleries.uploads import store_photo
from sharing.models import ShareLink
from tests.browser.conftest import BRAND, logo_png
from tests.browser.helpers import SIZES, photographer_page, serious_accessibility_violations, wait_for_images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAYOUTS = ["full", "split", "frame", "minimal"]

# What a client sees first: the brand's logo and face, the whole title in the first screen, nothing
# wider than the window.
FIRST_SCREEN = """() => {
  const title = document.querySelector(".gallery-cover__title").getBoundingClientRect();
  const logo = document.querySelector(".brand-bar__logo");
  return {
    layout: document.body.dataset.coverLayout,
    logo: logo && logo.complete && logo.naturalWidth > 0 ? logo.alt : null,
    titleFont: getComputedStyle(document.querySelector(".gallery-cover__title")).fontFamily,
    faceLoaded: document.fonts.check('500 48px "Playfair Display"'),
    titleInFirstScreen: title.top >= 0 && title.bottom <= window.innerHeight,
    overflow: document.documentElement.scrollWidth - window.innerWidth,
  };
}"""


@pytest.mark.parametrize("size", SIZES)
def test_each_cover_layout_wears_the_brand_and_shows_its_title_at_once(new_context, branded_link, screenshot_dir, size):
    page = new_context(**SIZES[size]).new_page()
    folder = screenshot_dir / "covers"
    folder.mkdir(exist_ok=True)
    problems = {}
    for layout in LAYOUTS:
        Gallery.objects.filter(pk=branded_link.gallery_id).update(cover_layout=layout)
        page.goto(branded_link.get_absolute_url())
        page.wait_for_load_state("load")
        page.evaluate("document.fonts.ready")
        wait_for_images(page, ".gallery-cover img, .brand-bar img")
        page.wait_for_timeout(650)  # the cover fades in
        seen = page.evaluate(FIRST_SCREEN)
        assert seen == {
            "layout": layout,
            "logo": BRAND["brand_name"],
            "titleFont": seen["titleFont"],
            "faceLoaded": True,
            "titleInFirstScreen": True,
            "overflow": 0,
        }, layout
        assert seen["titleFont"].startswith('"Playfair Display"')
        page.screenshot(path=folder / f"cover-{layout}-{size}.jpg", type="jpeg", quality=70)
        page.locator("#photos").scroll_into_view_if_needed()
        wait_for_images(page, "[data-gallery] img")
        problems[layout] = serious_accessibility_violations(page)
    assert {layout: found for layout, found in problems.items() if found} == {}


def band_and_first_row(page):
    return page.evaluate(
        """() => {
          const band = document.querySelector("[data-gallery-toolbar]").getBoundingClientRect();
          const tiles = Array.from(document.querySelectorAll("[data-gallery] .tile")).slice(0, 3);
          const top = tiles[0].getBoundingClientRect().top;
          return {
            band: band.height,
            bandBottom: band.bottom,
            bandTop: band.top,
            firstRowTop: top,
            firstRow: tiles.filter((tile) => Math.abs(tile.getBoundingClientRect().top - top) < 1).length,
            window: window.innerHeight,
          };
        }"""
    )


@pytest.mark.parametrize("viewport", [(390, 844), (360, 640)])
def test_on_a_phone_photos_share_rows_under_a_band_that_leaves_them_room(new_context, branded_link, viewport):
    party = branded_link.gallery.sets.get(name="Party")
    for n in range(10):  # a page long enough to scroll under the band
        store_photo(branded_link.gallery, jpeg_upload(f"party_{n}.jpg", width=300, height=200), party)
    width, height = viewport
    page = new_context(**{**SIZES["phone"], "viewport": {"width": width, "height": height}}).new_page()
    page.goto(branded_link.get_absolute_url())

    seen = band_and_first_row(page)
    assert seen["firstRow"] >= 2, seen  # the first photos are landscape: two share a row
    assert seen["band"] <= 0.1 * seen["window"], seen
    assert seen["bandBottom"] <= seen["firstRowTop"], seen

    page.get_by_role("link", name="View 17 photos").click()  # the cover's way to the photos
    seen = band_and_first_row(page)
    assert seen["bandBottom"] <= seen["firstRowTop"] and seen["firstRowTop"] < seen["window"], seen
    page.mouse.wheel(0, 200)  # past the "Download all" bar above the band
    page.wait_for_timeout(100)
    seen = band_and_first_row(page)
    assert seen["bandTop"] == 0 and seen["band"] <= 0.1 * seen["window"], seen  # it stays, one row

    page.get_by_label("Go to set").select_option(label="Ceremony (2)")
    heading = page.locator(".set-heading", has_text="Ceremony")
    expect(heading).to_be_in_viewport()
    band = page.locator("[data-gallery-toolbar]").bounding_box()
    assert heading.bounding_box()["y"] >= band["y"] + band["height"]  # not under the band


def test_edge_to_edge_spacing_fills_a_wide_screen(new_context, branded_link):
    Gallery.objects.filter(pk=branded_link.gallery_id).update(grid_spacing="none")
    page = new_context(viewport={"width": 1920, "height": 1080}).new_page()
    page.goto(branded_link.get_absolute_url())
    wait_for_images(page, "[data-gallery] img")
    edges = page.locator("[data-gallery]").evaluate(
        "(grid) => [grid.getBoundingClientRect().left, grid.getBoundingClientRect().right, window.innerWidth]"
    )
    assert edges[0] == 0 and edges[1] == edges[2], edges
    assert page.locator("[data-gallery] .tile").first.evaluate("(tile) => getComputedStyle(tile).borderRadius") == "0px"


def test_the_closed_pages_wear_the_brand_too(new_context, watcher, branded_link):
    """Expired, paused, password, registration and download PIN pages."""
    watcher.allow(r"status of (410|404|401)")  # the pages' own statuses
    page = new_context().new_page()
    expired = ShareLink.objects.create(gallery=branded_link.gallery, expires_at=timezone.now() - timedelta(days=1))
    paused = ShareLink.objects.create(gallery=branded_link.gallery, is_active=False)
    locked = ShareLink(gallery=branded_link.gallery)
    locked.set_password("open sesame")
    locked.save()
    asking = ShareLink.objects.create(gallery=branded_link.gallery, require_email=True)
    pinned = ShareLink(gallery=branded_link.gallery)
    pinned.set_download_pin("4711")
    pinned.save()
    pages = (
        ("expired", expired.get_absolute_url(), 410),
        ("paused", paused.get_absolute_url(), 404),
        ("locked", locked.get_absolute_url(), 401),
        ("registration", asking.get_absolute_url(), 401),
        ("download PIN", reverse("sharing:zip_download", args=[pinned.pk]), 401),
    )
    violations = {}
    for name, url, status in pages:
        response = page.goto(url)
        assert response.status == status
        logo = page.locator(".brand-bar__logo")
        expect(logo).to_have_attribute("alt", BRAND["brand_name"])
        assert logo.evaluate("(img) => img.complete && img.naturalWidth > 0")
        for contact in ("lenahart.com", "@lenahart", "hello@lenahart.com"):
            expect(page.locator(".public-footer__contact")).to_contain_text(contact)
        button = page.locator(".btn--primary")
        if button.count():
            assert button.evaluate("(b) => getComputedStyle(b).backgroundColor") == "rgb(46, 94, 78)"
        violations[name] = serious_accessibility_violations(page)
    assert {name: found for name, found in violations.items() if found} == {}


@pytest.mark.parametrize("size", SIZES)
def test_a_photographer_sets_their_brand_on_its_page(new_context, watcher, live_server, screenshot_dir, size, tmp_path):
    watcher.allow(r"status of 400")  # the refused colour's page
    user = UserFactory(display_name="Lena Hart")
    page = photographer_page(new_context, user, live_server, size=size)
    logo = tmp_path / "logo.png"
    logo.write_bytes(logo_png())
    page.goto("/accounts/profile/")
    page.get_by_role("link", name="Your brand").click()

    page.get_by_label("Brand name").fill(BRAND["brand_name"])
    page.locator("input[type=file][name=logo]").set_input_files(logo)
    page.locator("#id_accent_color").fill("#f5d04a")  # too light: refused, with a shade that works
    page.get_by_label("Editorial").check()
    page.get_by_label("Website").fill("lenahart.com")
    page.get_by_role("button", name="Save your brand").click()
    expect(page.locator(".field-error")).to_contain_text("too light for links and text")
    expect(page.get_by_label("Brand name")).to_have_value(BRAND["brand_name"])  # nothing typed is lost
    page.locator("input[type=file][name=logo]").set_input_files(logo)  # a browser never keeps a chosen file
    page.locator("#id_accent_color").fill(BRAND["accent_color"])
    page.get_by_role("button", name="Save your brand").click()

    expect(page.locator(".messages")).to_contain_text("Your brand has been saved")
    expect(page.locator(".brand-preview__logo")).to_have_attribute("alt", BRAND["brand_name"])
    expect(page.get_by_label("Editorial")).to_be_checked()
    expect(page.get_by_label("Website")).to_have_value("https://lenahart.com")
    button = page.locator(".brand-preview .btn--primary")
    assert button.evaluate("(b) => getComputedStyle(b).backgroundColor") == "rgb(46, 94, 78)"
    page.screenshot(path=screenshot_dir / f"branding-{size}.png", full_page=True)
    assert serious_accessibility_violations(page) == []
