"""The client's full-screen viewer: bookmarkable photos, neighbours, download link, focus kept inside."""

import re
from datetime import datetime

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from galleries.models import Gallery
from galleries.tests.factories import GalleryFactory
from galleries.uploads import store_photo
from sharing.tests.factories import ShareLinkFactory
from testing.photos import upload_of
from tests.browser.helpers import open_viewer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_viewer_puts_each_photo_in_the_address_and_opens_a_bookmarked_one(page, shared_gallery):
    link = shared_gallery
    photos = list(link.gallery.photos.in_display_order())
    dialog = page.locator("dialog[data-viewer]")
    image = page.locator("[data-viewer-image]")
    page.goto(link.get_absolute_url())

    page.locator("a[data-photo]").first.click()
    expect(dialog).to_be_visible()
    assert page.url.endswith(f"#photo-{photos[0].pk}")
    expect(page.locator("[data-viewer-prev]")).to_be_hidden()
    expect(page.locator("[data-viewer-close]")).to_be_focused()

    page.keyboard.press("ArrowRight")
    assert page.url.endswith(f"#photo-{photos[1].pk}")
    expect(image).to_have_attribute("src", reverse("sharing:public_preview", args=[link.pk, photos[1].pk]))
    expect(page.locator("[data-viewer-download]")).to_have_attribute(
        "href", reverse("sharing:photo_download", args=[link.pk, photos[1].pk])
    )
    expect(image).not_to_have_class(re.compile("is-loading"))  # the preview loaded

    for _ in range(4):  # focus stays inside the dialog
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('dialog') !== null")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert "#photo-" not in page.url

    page.goto(f"{link.get_absolute_url()}#photo-{photos[-1].pk}")
    expect(dialog).to_be_visible()
    expect(page.locator("[data-viewer-next]")).to_be_hidden()


def test_photos_of_later_pages_arrive_on_scroll_and_in_the_viewer(page, shared_gallery, monkeypatch):
    monkeypatch.setattr("galleries.models.PhotoQuerySet.PER_PAGE", 3)
    link = shared_gallery
    photos = list(link.gallery.photos.in_display_order())
    html = page.request.get(link.get_absolute_url()).text()
    assert html.count("data-photo=") == 3 and "data-more-photos" in html

    page.goto(link.get_absolute_url())
    tiles = page.locator("a[data-photo]")
    page.locator("a[data-photo]").first.click()
    for _ in range(len(photos) - 1):  # steps across the page boundaries, loading as it goes
        page.keyboard.press("ArrowRight")
    expect(page.locator("[data-viewer-count]")).to_have_text(f"{len(photos)} / {len(photos)}")
    assert page.url.endswith(f"#photo-{photos[-1].pk}")
    page.keyboard.press("Escape")
    expect(tiles).to_have_count(len(photos))

    fresh = page.context.new_page()
    fresh.goto(f"{link.get_absolute_url()}#photo-{photos[-1].pk}")  # bookmarked, on the last page
    expect(fresh.locator("[data-viewer-count]")).to_have_text(f"{len(photos)} / {len(photos)}")
    fresh.keyboard.press("Escape")
    fresh.mouse.wheel(0, 20000)
    expect(fresh.locator("a[data-photo]")).to_have_count(len(photos))
    expect(fresh.locator("[data-more-photos]")).to_have_count(0)


# Each screen the viewer must fit, from a phone held either way to a large desktop. A context is
# made per device; the sizes after the first of a device are reached by resizing the open
# viewer, as a phone turned sideways or a window dragged larger does.
FIT_SCREENS = [
    ({"is_mobile": True, "has_touch": True}, [(360, 640), (640, 360)]),
    ({}, [(1280, 800), (1440, 900), (1920, 1080), (2560, 1440)]),
]

# What the visitor sees of the viewer's photo: the photo as painted (its natural size fitted into
# the element's content box by object-fit, not the element's box), whether it lies inside the
# window, which controls overlap it, what is on top at points across it, and the stage it
# could have filled.
MEASURE_PHOTO = """() => {
  const dialog = document.querySelector("dialog[data-viewer]");
  const image = dialog.querySelector("[data-viewer-image]");
  const stage = dialog.querySelector("[data-viewer-stage]");
  const style = getComputedStyle(image);
  const px = (value) => parseFloat(value) || 0;
  const box = image.getBoundingClientRect();
  const edge = (side) => px(style[`border${side}Width`]) + px(style[`padding${side}`]);
  const content = {
    left: box.left + edge("Left"),
    top: box.top + edge("Top"),
    width: box.width - edge("Left") - edge("Right"),
    height: box.height - edge("Top") - edge("Bottom"),
  };
  const natural = { width: image.naturalWidth, height: image.naturalHeight };
  let scaleX = content.width / natural.width;
  let scaleY = content.height / natural.height;
  const fit = style.objectFit;
  if (fit === "contain" || fit === "scale-down") {
    scaleX = scaleY = Math.min(scaleX, scaleY, fit === "scale-down" ? 1 : Infinity);
  } else if (fit === "cover") {
    scaleX = scaleY = Math.max(scaleX, scaleY);
  } else if (fit === "none") {
    scaleX = scaleY = 1;
  }
  const [positionX, positionY] = style.objectPosition.split(" ").map((value) => px(value) / 100);
  const width = natural.width * scaleX;
  const height = natural.height * scaleY;
  const painted = {
    left: content.left + (content.width - width) * positionX,
    top: content.top + (content.height - height) * positionY,
    width: width,
    height: height,
  };
  painted.right = painted.left + width;
  painted.bottom = painted.top + height;
  // The part of the painted photo inside the element's box (object-fit: cover or none crop it).
  const shown = {
    left: Math.max(painted.left, box.left), top: Math.max(painted.top, box.top),
    right: Math.min(painted.right, box.right), bottom: Math.min(painted.bottom, box.bottom),
  };

  const visible = (element) => element.getClientRects().length > 0 && getComputedStyle(element).visibility !== "hidden";
  const overlapping = Array.from(dialog.querySelectorAll("button, a, form, p, label, textarea, input, select"))
    .filter((element) => visible(element) && !element.contains(image))
    .filter((element) => {
      const r = element.getBoundingClientRect();
      return r.left < shown.right - 0.5 && shown.left < r.right - 0.5
        && r.top < shown.bottom - 0.5 && shown.top < r.bottom - 0.5;
    })
    .map((element) => element.outerHTML.slice(0, 80));
  const covered = [];
  for (const fx of [0.02, 0.5, 0.98]) {
    for (const fy of [0.02, 0.5, 0.98]) {
      const x = shown.left + (shown.right - shown.left) * fx;
      const y = shown.top + (shown.bottom - shown.top) * fy;
      const top = document.elementFromPoint(x, y);
      if (top !== image) {
        covered.push(`${Math.round(x)},${Math.round(y)}: ${top ? top.outerHTML.slice(0, 60) : "nothing"}`);
      }
    }
  }
  const stageStyle = getComputedStyle(stage);
  const stageBox = stage.getBoundingClientRect();
  return {
    natural: natural,
    painted: painted,
    shown: shown,
    distortion: Math.abs(scaleX / scaleY - 1),
    window: { width: window.innerWidth, height: window.innerHeight },
    overlapping: overlapping,
    covered: covered,
    stage: {
      width: stageBox.width - px(stageStyle.paddingLeft) - px(stageStyle.paddingRight),
      height: stageBox.height - px(stageStyle.paddingTop) - px(stageStyle.paddingBottom),
    },
  };
}"""

PHOTO_SHOWN = """(src) => {
  const image = document.querySelector("dialog[data-viewer] [data-viewer-image]");
  return image.getAttribute("src") === src && image.complete && image.naturalWidth > 0
    && !image.classList.contains("is-loading") && getComputedStyle(image).opacity === "1";
}"""


def fit_problems(shot, where):
    """What is wrong with one measured photo, as readable lines (none when it fits)."""
    painted, shown, window, stage = shot["painted"], shot["shown"], shot["window"], shot["stage"]
    problems = []
    if any(abs(painted[side] - shown[side]) > 0.5 for side in shown) or not (
        painted["left"] >= -0.5
        and painted["top"] >= -0.5
        and painted["right"] <= window["width"] + 0.5
        and painted["bottom"] <= window["height"] + 0.5
    ):
        problems.append(f"not whole inside the window {window}: painted {painted}, shown {shown}")
    if shot["distortion"] > 0.01:
        problems.append(f"stretched: painted {painted} from {shot['natural']}")
    if shot["overlapping"]:
        problems.append(f"controls over it: {shot['overlapping']}")
    if shot["covered"]:
        problems.append(f"something else on top at {shot['covered']}")
    # As large as the stage allows (or at its own size): not made to fit by being made tiny.
    at_natural_size = painted["width"] >= shot["natural"]["width"] - 1
    fills_stage = painted["width"] >= stage["width"] - 2 or painted["height"] >= stage["height"] - 2
    if not (at_natural_size or fills_stage):
        problems.append(f"smaller than it could be: painted {painted} on a stage of {stage}")
    if stage["width"] < 0.7 * window["width"] or stage["height"] < 0.7 * window["height"]:
        problems.append(f"the stage {stage} leaves the photo too little of the window {window}")
    return [f"{where}: {problem}" for problem in problems]


@pytest.fixture
def camera_gallery(db, camera_photos):
    """A shared gallery of camera-sized photos of every shape (camera_photos)."""
    gallery = GalleryFactory(name="Shapes")
    for path in camera_photos:
        store_photo(gallery, upload_of(path))
    return ShareLinkFactory(gallery=gallery)


def test_viewer_fits_every_photo_whole_on_every_screen_with_no_control_over_it(
    new_context, camera_gallery, screenshot_dir
):
    link = camera_gallery
    photos = list(link.gallery.photos.in_display_order())
    problems = []
    for device, sizes in FIT_SCREENS:
        width, height = sizes[0]
        page = new_context(viewport={"width": width, "height": height}, **device).new_page()
        page.goto(link.get_absolute_url())
        page.locator("a[data-photo]").first.click()
        for width, height in sizes:
            page.set_viewport_size({"width": width, "height": height})
            for index, photo in enumerate(photos):
                page.keyboard.press("Home" if index == 0 else "ArrowRight")
                page.wait_for_function(PHOTO_SHOWN, arg=reverse("sharing:public_preview", args=[link.pk, photo.pk]))
                where = f"{photo.original_filename} ({photo.width}x{photo.height}) at {width}x{height}"
                problems += fit_problems(page.evaluate(MEASURE_PHOTO), where)
                if photo.height > photo.width:
                    page.screenshot(path=screenshot_dir / f"viewer-fit-{width}x{height}.png")
        page.context.close()
    assert problems == [], "\n".join(problems)


# Stands in for the Screen Wake Lock API (headless Chromium refuses it) and records its use.
WAKE_LOCK_SPY = """
window.__wakeLocks = [];
Object.defineProperty(navigator, "wakeLock", { configurable: true, value: {
  request(type) {
    const lock = new EventTarget();
    Object.assign(lock, { type: type, released: false });
    lock.release = () => {
      lock.released = true;
      lock.dispatchEvent(new Event("release"));
      return Promise.resolve();
    };
    window.__wakeLocks.push(lock);
    return Promise.resolve(lock);
  },
}});
"""


def test_slideshow_shows_each_photo_once_loaded_pauses_with_space_and_keeps_the_screen_awake(
    new_context, shared_gallery
):
    link = shared_gallery
    Gallery.objects.filter(pk=link.gallery_id).update(slideshow_seconds=4)
    photos = list(link.gallery.photos.in_display_order())
    page = new_context().new_page()
    page.add_init_script(WAKE_LOCK_SPY)
    page.clock.install(time=datetime(2026, 6, 1, 12, 0))
    held = []
    page.route(f"**{reverse('sharing:public_preview', args=[link.pk, photos[2].pk])}", lambda route: held.append(route))
    page.goto(link.get_absolute_url())
    open_viewer(page, 0)
    page.clock.pause_at(datetime(2026, 6, 1, 13, 0))
    counter = page.locator("[data-viewer-count]")
    wake_locks = "window.__wakeLocks.map((lock) => [lock.type, lock.released])"

    play = page.get_by_role("button", name=re.compile("slideshow|play", re.IGNORECASE))
    play.click()
    expect(play).to_have_attribute("aria-pressed", "true")
    page.clock.run_for(3_900)
    expect(counter).to_have_text("1 / 7")
    page.clock.run_for(200)  # the photographer's 4 seconds
    expect(counter).to_have_text("2 / 7")
    assert page.evaluate(wake_locks) == [["screen", False]]

    # The third photo's preview was asked for while the second was shown; until it arrives, the
    # slideshow waits on the second.
    page.clock.run_for(4_100)
    assert len(held) == 1
    page.wait_for_timeout(200)
    expect(counter).to_have_text("2 / 7")
    held[0].continue_()
    expect(counter).to_have_text("3 / 7")
    assert page.locator("[data-viewer-image]").evaluate("(image) => image.complete && image.naturalWidth > 0")

    # Space pauses and plays, whichever button has the focus (Close, at first).
    page.locator("[data-viewer-close]").focus()
    page.keyboard.press("Space")
    expect(play).to_have_attribute("aria-pressed", "false")
    assert page.evaluate(wake_locks) == [["screen", True]]
    page.clock.run_for(10_000)
    expect(counter).to_have_text("3 / 7")
    expect(page.locator("dialog[data-viewer]")).to_be_visible()
    play.focus()
    page.keyboard.press("Space")
    expect(play).to_have_attribute("aria-pressed", "true")

    # Photos change with a fade; with reduced motion asked for, without any.
    image = page.locator("[data-viewer-image]")
    animated = "() => document.getAnimations().length"
    page.clock.run_for(4_100)
    expect(counter).to_have_text("4 / 7")
    assert image.evaluate("(image) => getComputedStyle(image).transitionDuration") != "0s"
    page.emulate_media(reduced_motion="reduce")
    page.clock.run_for(4_100)
    expect(counter).to_have_text("5 / 7")
    assert page.evaluate(animated) == 0
    assert image.evaluate("(image) => getComputedStyle(image).transitionDuration").strip("0s, ") == ""

    page.keyboard.press("Escape")
    page.clock.run_for(300)  # the viewer fades out on a timer
    expect(page.locator("dialog[data-viewer]")).to_be_hidden()
    assert [released for _, released in page.evaluate(wake_locks)] == [True, True]
