"""The photographer's workspace in a real browser, at 1440×900 and on a phone: the gallery's
photos on the first screen, selecting (click, shift-click, select all) and acting on the
selection in place (move to a set, set as cover, reorder, download, delete) without a reload,
with the scroll position and the selection kept; a tile's menu on a phone; creating a link lands
on it, and its send form takes the link's password."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from galleries.models import PhotoSet
from galleries.tests.factories import GalleryFactory, jpeg_upload
from galleries.uploads import store_photo
from testing.photos import upload_of
from tests.browser.helpers import SIZES, log_in, photographer_page, serious_accessibility_violations, wait_for_images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workspace(camera_photos):
    """A gallery of camera-sized photos (landscape, portrait, square, panorama) and twelve small
    ones, with an empty set: enough tiles to scroll."""
    gallery = GalleryFactory(name="Hannah & James", owner__display_name="Lena Hart")
    for path in camera_photos:
        store_photo(gallery, upload_of(path))
    for n in range(12):  # after the camera photos by name, in colours of their own
        size = {"width": 300, "height": 200} if n % 3 else {"width": 200, "height": 300}
        store_photo(gallery, jpeg_upload(f"Reception_{n:02}.jpg", color=(40 + n * 15, 90, 160 - n * 8), **size))
    PhotoSet.objects.create(gallery=gallery, name="Ceremony")
    return gallery


def names(page):
    return page.locator("[data-photo-tile]").evaluate_all("(tiles) => tiles.map((tile) => tile.dataset.name)")


def checked(page):
    return page.locator("[data-select]:checked").evaluate_all(
        "(boxes) => boxes.map((box) => box.closest('[data-photo-tile]').dataset.name)"
    )


def tile(page, name):
    return page.locator(f'[data-photo-tile][data-name="{name}"]')


def test_selection_and_its_actions_happen_in_place_on_a_desktop(new_context, live_server, workspace, screenshot_dir):
    page = photographer_page(new_context, workspace.owner, live_server)
    page.goto(workspace.get_absolute_url())
    assert all(width > 0 for width in wait_for_images(page, ".photo-tile img"))
    page.evaluate("window.scrollTo(0, 0)")
    first = page.locator(".photo-tile").first.bounding_box()
    assert first["y"] + first["height"] <= 900, first  # the whole first tile on the first screen
    page.screenshot(path=screenshot_dir / "workspace-desktop.png")
    assert serious_accessibility_violations(page) == []
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    order = names(page)
    # Click one box, shift-click another: the range between them.
    tile(page, order[1]).locator("[data-select]").check()
    tile(page, order[4]).locator("[data-select]").click(modifiers=["Shift"])
    assert checked(page) == order[1:5]
    expect(page.locator("[data-selection-count]")).to_have_text("4 photos selected")
    expect(page.get_by_role("button", name="Set as cover")).to_be_disabled()  # one photo only

    # Move them into a set, scrolled down a little: the grid follows, the place and the selection stay.
    page.evaluate("window.scrollTo(0, 240)")
    page.select_option("#move-set", label="Ceremony")
    with page.expect_response(re.compile(r"/photos/move/$")):
        page.get_by_role("button", name="Move to set").click()
    expect(page.locator(".toast")).to_have_text("4 photos moved into “Ceremony”.")
    expect(page.locator("[data-set-heading]", has_text="Ceremony")).to_be_visible()
    assert sorted(checked(page)) == sorted(order[1:5])
    assert abs(page.evaluate("window.scrollY") - 240) < 2
    set_id = str(workspace.sets.get().pk)
    assert all(tile(page, name).get_attribute("data-set-id") == set_id for name in order[1:5])

    # Select all, then none; then one photo, which becomes the cover.
    page.get_by_role("button", name="Select all").click()
    assert len(checked(page)) == len(order)
    page.get_by_role("button", name="Select none").click()
    assert checked(page) == []
    cover = names(page)[2]
    tile(page, cover).locator("[data-select]").check()
    page.get_by_role("button", name="Set as cover").click()
    expect(page.locator(".toast")).to_have_text("Cover photo set.")
    expect(tile(page, cover).get_by_text("Cover", exact=True)).to_be_visible()
    workspace.refresh_from_db()
    assert workspace.cover_photo.original_filename == cover

    # Reorder from a tile's menu: the photo moves a place, no reload.
    before = names(page)
    mover = before[-2]
    tile(page, mover).locator(".tile-menu__button").click()
    tile(page, mover).get_by_role("button", name=f"Move {mover} later").click()
    expect(page.locator("[data-order-status]")).to_have_text(re.compile(rf"^{re.escape(mover)} moved to position"))
    assert names(page)[-1] == mover

    # Download the selection (the cover and one more): one ZIP; the page stays.
    tile(page, before[0]).locator("[data-select]").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == "Hannah & James - 2 photos.zip"

    # Delete after asking; the rest stays, and so does the page.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.locator(".toast")).to_have_text("2 photos deleted.")
    expect(page.locator("[data-photo-tile]")).to_have_count(len(order) - 2)
    assert checked(page) == []
    assert workspace.photos.count() == len(order) - 2
    assert page.evaluate("window.__sameDocument") is True


def test_on_a_phone_each_tile_has_a_menu(new_context, live_server, workspace, screenshot_dir):
    page = photographer_page(new_context, workspace.owner, live_server, size="phone")
    page.goto(workspace.get_absolute_url())
    wait_for_images(page, ".photo-tile img")
    page.evaluate("window.scrollTo(0, 0)")
    expect(page.locator(".photo-tile").first).to_be_in_viewport()
    page.screenshot(path=screenshot_dir / "workspace-phone.png")
    page.evaluate("window.__sameDocument = true")
    # No hover on a phone: the box is there to tap, and the actions are in the tile's menu.
    name = names(page)[3]
    box = tile(page, name).locator(".photo-tile__select")
    assert box.evaluate("(element) => getComputedStyle(element).opacity") == "1"
    tile(page, name).locator(".tile-menu__button").click()
    menu = tile(page, name).locator(".tile-menu__panel")
    expect(menu).to_be_in_viewport(ratio=1)
    page.screenshot(path=screenshot_dir / "workspace-menu-phone.png")
    menu.get_by_role("button", name="Set as cover").click()
    expect(page.locator(".toast")).to_have_text("Cover photo set.")
    expect(tile(page, name).get_by_text("Cover", exact=True)).to_be_visible()
    expect(menu).to_be_hidden()
    # Moving into a set from the menu.
    tile(page, name).locator(".tile-menu__button").click()
    menu.get_by_label(f"Set for {name}").select_option(label="Ceremony")
    menu.get_by_role("button", name="Move", exact=True).click()
    expect(page.locator(".toast")).to_have_text("Photo moved into “Ceremony”.")
    assert tile(page, name).get_attribute("data-set-id") == str(workspace.sets.get().pk)
    assert page.evaluate("window.__sameDocument") is True
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES["phone"]["viewport"]["width"]


@pytest.mark.parametrize("size", SIZES)
def test_a_new_link_lands_on_its_page_and_its_send_form_takes_the_password(
    new_context, watcher, live_server, size, screenshot_dir
):
    watcher.allow(r"status of 400")  # the refused send answers its page with a 400
    gallery = GalleryFactory(name="Iceland, June", owner__display_name="Lena Hart")
    store_photo(gallery, jpeg_upload("IMG_1.jpg", width=300, height=200))
    context = new_context(**SIZES[size])
    log_in(context, gallery.owner, live_server)
    page = context.new_page()
    page.goto(gallery.get_absolute_url())
    page.get_by_role("link", name="Share", exact=True).click()
    expect(page.get_by_role("link", name="Sharing")).to_have_attribute("aria-current", "page")
    form = page.locator("form.share-link-new")
    form.get_by_label("Label").fill("Parents")
    form.locator(".share-settings__more > summary").click()
    form.locator("input[name=password]").fill("fjord-2026")
    form.get_by_role("button", name="Create share link").click()

    expect(page.get_by_role("heading", name="Parents", level=1)).to_be_visible()
    address = page.get_by_label("Link to this gallery")
    expect(address).to_be_in_viewport(ratio=1)
    expect(page.get_by_role("button", name="Copy link")).to_be_in_viewport(ratio=1)
    expect(page.get_by_label("Send to")).to_be_in_viewport()
    assert re.fullmatch(r"http://localhost:\d+/s/[0-9a-f-]{36}/", address.input_value())
    page.screenshot(path=screenshot_dir / f"new-link-{size}.png")

    # A password that is not the link's: refused, nothing sent.
    page.get_by_label("Send to").fill("anna@example.com")
    page.get_by_label("The link’s password, to put in the e-mail").fill("fjord-2025")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("That is not this link’s password. Nothing was sent.")).to_be_visible()
    assert mail.outbox == []
    page.get_by_label("The link’s password, to put in the e-mail").fill("fjord-2026")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Sending the link to 1 address.")).to_be_visible()
    [message] = mail.outbox
    assert "The gallery is protected by a password: fjord-2026" in message.body
    assert address.input_value().split("/s/")[1] in message.body
