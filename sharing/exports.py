"""Sheets a photographer downloads: what makes their cells safe to open in a spreadsheet."""

import csv
import io
import re


def safe_cell(value):
    """Spreadsheets run a cell that starts with =, +, - or @ as a formula (and a leading tab or
    carriage return hides one): such cells get a leading apostrophe, which they show as text.
    So does such a character at the start of any line inside a cell, and after a comma, semicolon
    or tab, where a spreadsheet that splits the file on another separator than ours, or into
    lines, would start a cell."""
    value = re.sub(r"([,;\t\r\n])([=+\-@])", r"\1'\2", str(value))
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r", "\n") else value


def visitors_csv(visitors, columns):
    """The sheet of a link's registered visitors (sharing.stats.visitors()): one row each, with
    `columns` (sharing.stats.visitor_columns()) counted. Every cell quoted and neutralised."""
    buffer = io.StringIO()
    buffer.write(",".join(["email", "name", "first_seen", "last_seen", *columns]) + "\r\n")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    for visitor in visitors:
        cells = [visitor.email, visitor.name, visitor.first_seen.isoformat(), visitor.last_seen.isoformat()]
        writer.writerow([safe_cell(cell) for cell in [*cells, *(visitor.counts[name] for name in columns)]])
    return buffer.getvalue()
