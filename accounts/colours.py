"""The photographer's accent colour on client pages: contrast by WCAG 2's formulas, and the
shades derived from the colour so that text on it, and text in it, stays readable (AA).

Links and small text in the accent colour need 4.5:1 against the page; the light pages are
#f8f7f5 and #ffffff (static/css/viewport.css), the dark ones #131211 and #1c1b19. A colour
that reaches 4.5:1 on the light pages is accepted as it is; for visitors who prefer a dark
scheme it is lightened until it reaches 4.5:1 there too.
"""

import re

AA = 4.5
DEFAULT_ACCENT = "#8a5a3c"  # Viewport's bronze (static/css/viewport.css)
LIGHT_PAGES = ("#f8f7f5", "#ffffff")
DARK_PAGES = ("#131211", "#1c1b19")
DARK_TEXT = "#131211"  # the dark page: a little darker than its text, so it reads on mid-tones
LIGHT_TEXT = "#ffffff"
HEX_COLOUR = re.compile(r"#[0-9a-f]{6}")


def rgb(colour):
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def hex_colour(channels):
    return "#" + "".join(f"{round(min(255, max(0, c))):02x}" for c in channels)


def luminance(colour):
    """WCAG 2 relative luminance of an sRGB colour."""

    def linear(channel):
        channel /= 255
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first, second):
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def worst_contrast(colour, backgrounds):
    return min(contrast(colour, background) for background in backgrounds)


def text_on(colour):
    """Dark or white text, whichever reads better on `colour` (one of them always reaches AA)."""
    return max((DARK_TEXT, LIGHT_TEXT), key=lambda text: contrast(text, colour))


def mix(colour, towards, amount):
    return hex_colour(a + (b - a) * amount for a, b in zip(rgb(colour), rgb(towards), strict=True))


def readable_shade(colour, backgrounds, towards):
    """`colour` mixed towards `towards` (black or white) just enough to reach AA on every one of
    `backgrounds`; the colour itself if it does already."""
    for step in range(0, 101):
        shade = mix(colour, towards, step / 100)
        if worst_contrast(shade, backgrounds) >= AA:
            return shade
    return towards


def accent_palette(colour):
    """The custom properties of an accepted accent colour, for light and for dark pages."""
    dark_accent = readable_shade(colour, DARK_PAGES, "#ffffff")
    return {
        "light": {
            "accent": colour,
            "accent_hover": mix(colour, "#000000", 0.15),
            "accent_soft": mix(colour, "#ffffff", 0.88),
            "on_accent": text_on(colour),
        },
        "dark": {
            "accent": dark_accent,
            "accent_hover": mix(dark_accent, "#ffffff", 0.2),
            "accent_soft": mix(dark_accent, "#131211", 0.8),
            "on_accent": text_on(dark_accent),
        },
    }
