"""The photographer's exports of favourites: a CSV sheet, and file names to paste into an editor.

Lightroom Classic and Capture One look photos up by file name in their filter bars, and they
split what is pasted there differently: Lightroom Classic's Library Filter (Text, Filename,
Contains) takes a list separated by commas, Capture One's Filters tool search takes one
separated by spaces. The names are given without their extension, so they find the raw files
(`IMG_0001.CR3`) the delivered JPEGs (`IMG_0001.jpg`) were made from.
"""

import csv
import io
from pathlib import PurePosixPath

from django.utils import timezone

from sharing.exports import safe_cell

FILENAME_SEPARATORS = {"lightroom": ",", "captureone": " "}
CSV_COLUMNS = ["file_name", "comment", "person", "email", "link", "submitted"]


def favourites_csv(favourites):
    """The CSV sheet of these favourites (select_related photo and list__link), one row each."""
    buffer = io.StringIO()
    # Every cell quoted: a spreadsheet that splits on semicolons (Excel in many locales) would
    # otherwise start a new cell, perhaps a formula, at a semicolon inside a comment.
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(CSV_COLUMNS)
    for favourite in favourites:
        favourite_list = favourite.favourite_list
        writer.writerow(
            [
                safe_cell(value)
                for value in [
                    favourite.photo.original_filename,
                    favourite.comment,
                    favourite_list.name,
                    favourite_list.email,
                    favourite_list.link.label or str(favourite_list.link.pk),
                    # in the photographer's time zone, with its offset
                    timezone.localtime(favourite_list.submitted_at).isoformat() if favourite_list.submitted_at else "",
                ]
            ]
        )
    return buffer.getvalue()


def filenames(photos, app):
    """The photos' file names, without extension and each once, for `app`'s filter."""
    stems = dict.fromkeys(PurePosixPath(photo.original_filename).stem for photo in photos)
    return FILENAME_SEPARATORS[app].join(stems)
