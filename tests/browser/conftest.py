"""Fixtures for the browser tests: Debian's headless Chromium driven by Playwright, against the
app served by pytest-django's live server on the suite's PostgreSQL and S3 servers.

`bash scripts/test tests/browser` installs Chromium (never `playwright install`: its download
is not reachable from every machine). Every page a test opens is watched for console errors,
uncaught exceptions and Content Security Policy violations; any of them fails the test.
"""

import io
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import sync_playwright

from accounts.forms import BrandingForm
from accounts.tests.factories import UserFactory
from favourites.tests.factories import FavouritesLinkFactory
from galleries.models import PhotoSet
from galleries.tests.factories import GalleryFactory
from galleries.uploads import store_photo
from sharing.tests.factories import ShareLinkFactory
from testing.photos import upload_of
from tests.browser.helpers import SIZES

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The shared test photos sit beside the repository (../shared), or beside the folder of worktrees.
TESTDATA = next(
    (
        folder / "shared" / "testdata" / "orientation"
        for folder in Path(__file__).resolve().parents[3:5]
        if (folder / "shared" / "testdata" / "orientation").is_dir()
    ),
    Path("/nonexistent"),
)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

# Installed before any page script runs: reports each CSP violation as a console error naming
# the directive, and adds up every layout shift not caused by input (so at least the page's CLS).
WATCH_SCRIPT = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`Content Security Policy violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
window.__layoutShift = 0;
window.__layoutShifts = [];
try {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.hadRecentInput) continue;
      window.__layoutShift += entry.value;
      window.__layoutShifts.push({
        value: entry.value,
        sources: (entry.sources || []).map((s) => s.node ? (s.node.outerHTML || s.node.nodeName).slice(0, 120) : "?"),
      });
    }
  }).observe({ type: "layout-shift", buffered: true });
} catch (error) {}
"""


@pytest.fixture(autouse=True)
def plain_http_cookies(settings):
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: `bash scripts/test` installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageWatcher:
    """Collects what a page reports that a visitor should never cause."""

    def __init__(self):
        self.problems = []
        self.allowed = []

    def allow(self, pattern):
        """Tolerate console errors matching `pattern` (e.g. the 410 of an expired link's page)."""
        self.allowed.append(re.compile(pattern))

    def watch(self, page):
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: uncaught {error}"))

    def _console(self, page, message):
        if message.type == "error" or "Content Security Policy" in message.text:
            self.problems.append(f"{page.url}: console {message.type}: {message.text}")

    def unexpected(self):
        return [p for p in self.problems if not any(pattern.search(p) for pattern in self.allowed)]


@pytest.fixture
def watcher():
    return PageWatcher()


@pytest.fixture
def new_context(browser, live_server, watcher):
    """Open a fresh browser context (cookies, storage, permissions of its own), like a new visitor.

    Takes Playwright's new_context() options; every page opened in it is watched.
    """
    contexts = []

    def make(**options):
        options = {**SIZES["desktop"], **options}
        context = browser.new_context(base_url=live_server.url, accept_downloads=True, **options)
        context.set_default_timeout(10_000)
        context.add_init_script(WATCH_SCRIPT)
        context.on("page", watcher.watch)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()  # closes keep-alive connections, so server threads let go of the database
    problems = watcher.unexpected()
    if problems:
        pytest.fail("The browser reported errors:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def page(new_context):
    return new_context().new_page()


# Photos


def _generated_photos(folder):
    """Stand-ins for the shared test photos, for a clone without them: JPEGs of both orientations,
    some with an EXIF Orientation tag, each with a gradient so thumbnails show something."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, (width, height, orientation) in enumerate(
        [
            (1800, 1200, 1),
            (1200, 1800, 1),
            (1800, 1200, 6),
            (1200, 1800, 3),
            (1600, 1200, 8),
            (1200, 1600, 1),
            (1500, 1000, 1),
        ]
    ):
        gradient = Image.linear_gradient("L").resize((width, height))
        hue = (index * 53) % 255
        image = Image.merge("RGB", (gradient, Image.new("L", (width, height), hue), gradient.rotate(180)))
        exif = Image.Exif()
        exif[0x0112] = orientation
        path = folder / f"Photo_{index}.jpg"
        image.save(path, "JPEG", quality=85, exif=exif)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def sample_photos(tmp_path_factory):
    """Real photos (the shared orientation set: landscape and portrait, all EXIF orientations)
    when the shared test data is beside the repository, else JPEGs made with Pillow."""
    if TESTDATA.is_dir():
        names = ["Landscape_0", "Portrait_6", "Landscape_3", "Portrait_0", "Landscape_8", "Portrait_5", "Landscape_1"]
        return [TESTDATA / f"{name}.jpg" for name in names]
    return _generated_photos(tmp_path_factory.mktemp("photos"))


@pytest.fixture
def shared_gallery(db, sample_photos):
    """A photographer's gallery with the sample photos, a cover and an active share link,
    made directly (the photographer's journey test makes one through the UI)."""
    user = UserFactory(display_name="Lena Hart Photography")
    gallery = GalleryFactory(owner=user, name="Iceland, June")
    photos = [store_photo(gallery, upload_of(path)) for path in sample_photos]
    gallery.cover_photo = photos[0]
    gallery.save()
    link = ShareLinkFactory(gallery=gallery)
    return link


def _camera_photo(path, width, height, hue):
    """A JPEG of a camera's size: a gradient inside a light frame at its very edges, so that a
    photo cut off by the screen or a bar shows in a screenshot."""
    small = (width // 10, height // 10)  # drawn small and scaled up: quick to make
    gradient = Image.linear_gradient("L").resize(small)
    image = Image.merge("RGB", (gradient, Image.new("L", small, hue), gradient.rotate(180)))
    ImageDraw.Draw(image).rectangle((0, 0, small[0] - 1, small[1] - 1), outline=(250, 250, 250), width=2)
    image.resize((width, height), Image.Resampling.NEAREST).save(path, "JPEG", quality=80)
    return path


@pytest.fixture(scope="session")
def camera_photos(tmp_path_factory):
    """Photos of every shape at camera sizes, made once per session: landscape and portrait
    24 MP, square, and a 4:1 panorama."""
    folder = tmp_path_factory.mktemp("camera")
    shapes = {"Landscape": (6000, 4000), "Portrait": (4000, 6000), "Square": (4000, 4000), "Panorama": (8000, 2000)}
    return [
        _camera_photo(folder / f"{name}.jpg", width, height, hue=index * 60)
        for index, (name, (width, height)) in enumerate(shapes.items())
    ]


def logo_png():
    """A photographer's logo as they export it: their name in dark green on a transparent
    background, with more margin than it needs."""
    font, small = ImageFont.load_default(size=96), ImageFont.load_default(size=30)
    image = Image.new("RGBA", (1200, 400), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.text((600, 170), "LENA HART", font=font, fill=(46, 94, 78, 255), anchor="mm")
    draw.text((600, 245), "P H O T O G R A P H Y", font=small, fill=(46, 94, 78, 255), anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


BRAND = {
    "brand_name": "Lena Hart Photography",
    "accent_color": "#2e5e4e",
    "font": "editorial",
    "website": "https://lenahart.com",
    "instagram": "lenahart",
    "contact_email": "hello@lenahart.com",
}


@pytest.fixture
def branded_link(db, sample_photos):
    """shared_gallery's photos in two sets, behind a link with favourites, of a photographer
    with every branding option set (BRAND and a logo, through the branding form)."""
    user = UserFactory(display_name="Lena Hart")
    form = BrandingForm(dict(BRAND), {"logo": SimpleUploadedFile("logo.png", logo_png())}, instance=user)
    assert form.is_valid(), form.errors
    form.save()
    gallery = GalleryFactory(owner=user, name="Hannah & James")
    ceremony, party = (PhotoSet.objects.create(gallery=gallery, name=name) for name in ("Ceremony", "Party"))
    photos = [
        store_photo(gallery, upload_of(path), None if n < 3 else ceremony if n < 5 else party)
        for n, path in enumerate(sample_photos)
    ]
    gallery.cover_photo = photos[0]
    gallery.save()
    return FavouritesLinkFactory(gallery=gallery, favourites_title="Album selection")


@pytest.fixture(scope="session")
def screenshot_dir():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
