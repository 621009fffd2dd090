"""Sets and order in a real browser: the photographer reorders photos by dragging and from the
keyboard, and the order stays; a client follows a link to one set and lands on it."""

import re

import pytest
from playwright.sync_api import expect

from galleries.models import PhotoQuerySet, PhotoSet
from galleries.tests.factories import GalleryFactory, jpeg_upload
from galleries.uploads import store_photo
from sharing.tests.factories import ShareLinkFactory
from tests.browser.helpers import SIZES, log_in, serious_accessibility_violations, wait_for_images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def tile_names(page):
    return page.locator("[data-photo-tile]").evaluate_all("(tiles) => tiles.map((tile) => tile.dataset.name)")


def test_photographer_reorders_by_dragging_and_by_keyboard_and_the_order_stays(new_context, live_server):
    gallery = GalleryFactory(name="Order test")
    for name in ["A.jpg", "B.jpg", "C.jpg", "D.jpg"]:
        store_photo(gallery, jpeg_upload(name, width=90, height=60))
    context = new_context()
    log_in(context, gallery.owner, live_server)
    page = context.new_page()
    page.goto(gallery.get_absolute_url())
    wait_for_images(page, ".photo-tile img")
    assert tile_names(page) == ["A.jpg", "B.jpg", "C.jpg", "D.jpg"]

    # Drag D onto the left half of A: it goes first.
    tiles = page.locator("[data-photo-tile]")
    with page.expect_response(re.compile(r"/photos/order/$")) as answer:
        tiles.nth(3).drag_to(tiles.nth(0), target_position={"x": 5, "y": 30})
    assert answer.value.ok
    assert tile_names(page) == ["D.jpg", "A.jpg", "B.jpg", "C.jpg"]
    expect(page.locator("[data-order-status]")).to_have_text("D.jpg moved to position 1 of 4.")
    page.reload()
    assert tile_names(page) == ["D.jpg", "A.jpg", "B.jpg", "C.jpg"]
    gallery.refresh_from_db()
    assert gallery.sort == "manual"

    # From the keyboard, in a tile's menu: A one place later, twice, then D one place later; focus
    # stays on the arrow.
    page.locator('[data-name="A.jpg"] .tile-menu__button').click()
    later = page.get_by_role("button", name="Move A.jpg later")
    later.focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-order-status]")).to_have_text("A.jpg moved to position 3 of 4.")
    expect(page.get_by_role("button", name="Move A.jpg later")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("[data-order-status]")).to_have_text("A.jpg moved to position 4 of 4.")
    expect(page.get_by_role("button", name="Move A.jpg later")).to_be_disabled()
    assert page.evaluate("document.activeElement.matches('[data-order-position]')")  # the arrow went out of use
    assert tile_names(page) == ["D.jpg", "B.jpg", "C.jpg", "A.jpg"]
    # The focus ring is visible on the arrows (in the tile's menu, opened from the keyboard).
    page.locator('[data-name="D.jpg"] .tile-menu__button').focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Move D.jpg later").focus()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page.locator("[data-order-status]")).to_have_text("D.jpg moved to position 2 of 4.")
    # A position typed in the field.
    page.locator('[data-name="C.jpg"] .tile-menu__button').click()
    position = page.get_by_label("Position of C.jpg (of 4)")
    position.fill("1")
    position.press("Enter")
    expect(page.locator("[data-order-status]")).to_have_text("C.jpg moved to position 1 of 4.")

    page.reload()
    assert tile_names(page) == ["C.jpg", "B.jpg", "D.jpg", "A.jpg"]
    gallery.refresh_from_db()
    assert [p.original_filename for p in gallery.ordered_photos()] == ["C.jpg", "B.jpg", "D.jpg", "A.jpg"]


def test_on_a_touch_screen_a_photo_is_dragged_by_its_handle(new_context, live_server):
    gallery = GalleryFactory(name="Touch")
    for name in ["A.jpg", "B.jpg", "C.jpg"]:
        store_photo(gallery, jpeg_upload(name, width=90, height=60))
    context = new_context(**SIZES["phone"])
    log_in(context, gallery.owner, live_server)
    page = context.new_page()
    page.goto(gallery.get_absolute_url())
    wait_for_images(page, ".photo-tile img")
    tiles = page.locator("[data-photo-tile]")
    handle = tiles.nth(2).locator("[data-drag-handle]")
    expect(handle).to_be_visible()
    start, target = handle.bounding_box(), tiles.nth(0).bounding_box()
    touchscreen = context.new_cdp_session(page)  # a finger: real touch events, as a phone sends them

    def touch(kind, x=None, y=None):
        points = [] if x is None else [{"x": x, "y": y}]
        touchscreen.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    with page.expect_response(re.compile(r"/photos/order/$")) as answer:
        touch("touchStart", start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
        touch("touchMove", target["x"] + target["width"] / 2, target["y"] + target["height"] + 40)
        touch("touchMove", target["x"] + 10, target["y"] + 20)
        touch("touchEnd")
    assert answer.value.ok
    assert tile_names(page) == ["C.jpg", "A.jpg", "B.jpg"]
    page.reload()
    assert tile_names(page) == ["C.jpg", "A.jpg", "B.jpg"]


def test_dragging_a_photo_under_another_sets_heading_moves_it_into_that_set(new_context, live_server):
    gallery = GalleryFactory(name="Sets")
    ceremony = PhotoSet.objects.create(gallery=gallery, name="Ceremony")
    loose = store_photo(gallery, jpeg_upload("loose.jpg", width=90, height=60))
    store_photo(gallery, jpeg_upload("vows.jpg", width=90, height=60), ceremony)
    context = new_context()
    log_in(context, gallery.owner, live_server)
    page = context.new_page()
    page.goto(gallery.get_absolute_url())
    wait_for_images(page, ".photo-tile img")
    page.evaluate("window.__sameDocument = true")
    # A move into another set changes every count: the grid is brought up to date in place.
    page.locator("[data-photo-tile]").first.drag_to(page.locator(f"#set-{ceremony.pk}"))
    expect(page.locator(f"#set-{ceremony.pk}")).to_contain_text("2 photos")
    loose.refresh_from_db()
    assert loose.photo_set == ceremony
    assert tile_names(page) == ["loose.jpg", "vows.jpg"]
    assert page.evaluate("window.__sameDocument") is True


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_client_opens_a_link_to_a_set_and_lands_on_it(new_context, monkeypatch, size):
    monkeypatch.setattr(PhotoQuerySet, "PER_PAGE", 4)  # the set begins on the third page
    gallery = GalleryFactory(name="Smith wedding", sort="name")
    ready, party = (PhotoSet.objects.create(gallery=gallery, name=name) for name in ("Getting ready", "Party"))
    for n in range(9):
        store_photo(gallery, jpeg_upload(f"ready_{n}.jpg", width=60, height=90), ready)
    for n in range(24):  # enough rows below the menu for the page to scroll under it
        store_photo(gallery, jpeg_upload(f"party_{n:02}.jpg", width=90, height=60), party)
    link = ShareLinkFactory(gallery=gallery)
    page = new_context(**SIZES[size]).new_page()

    page.goto(f"{link.get_absolute_url()}#set-{party.pk}")
    heading = page.locator(f"#set-{party.pk}")
    expect(heading).to_be_in_viewport()
    expect(heading).to_contain_text("Party")
    assert page.locator("[data-photo]").count() >= 12  # the pages before it came in: one stream for the viewer
    if size == "desktop":
        expect(page.locator(f'[data-set-link="{party.pk}"]')).to_have_attribute("aria-current", "true")
        expect(page.locator("[data-set-choice]")).to_be_hidden()
        page.get_by_role("link", name="Getting ready 9").click()
    else:
        expect(page.locator(".set-menu__tabs")).to_be_hidden()
        expect(page.locator("[data-set-choice]")).to_have_value(str(party.pk))
        page.get_by_label("Go to set").select_option(label="Getting ready (9)")
    expect(page.locator(f"#set-{ready.pk}")).to_be_in_viewport()
    assert page.url.endswith(f"#set-{ready.pk}")
    # The menu stays at the top of the window while the client scrolls.
    page.mouse.wheel(0, 600)
    page.wait_for_timeout(100)
    assert page.locator("[data-set-menu]").bounding_box()["y"] == 0


def test_pages_with_sets_have_no_serious_accessibility_violations(new_context, live_server, screenshot_dir):
    gallery = GalleryFactory(name="Smith wedding")
    ceremony, party = (PhotoSet.objects.create(gallery=gallery, name=name) for name in ("Ceremony", "Party"))
    store_photo(gallery, jpeg_upload("loose.jpg", width=90, height=60))
    for n in range(3):
        store_photo(gallery, jpeg_upload(f"vows_{n}.jpg", width=90, height=60), ceremony)
    store_photo(gallery, jpeg_upload("dance.jpg", width=60, height=90), party)
    link = ShareLinkFactory(gallery=gallery)
    photographer = new_context()
    log_in(photographer, gallery.owner, live_server)
    page = photographer.new_page()
    page.goto(gallery.get_absolute_url())
    wait_for_images(page, ".photo-tile img")
    page.screenshot(path=screenshot_dir / "gallery-with-sets.png", full_page=True)
    visitor = new_context().new_page()
    visitor.goto(link.get_absolute_url())
    wait_for_images(visitor, "img:not(dialog img)")
    visitor.screenshot(path=screenshot_dir / "public-gallery-with-sets.png", full_page=True)
    violations = {
        "gallery": serious_accessibility_violations(page),
        "public gallery": serious_accessibility_violations(visitor),
    }
    assert {where: found for where, found in violations.items() if found} == {}
