"""Sheets a photographer downloads: what makes their cells safe to open in a spreadsheet."""

import re


def safe_cell(value):
    """Spreadsheets run a cell that starts with =, +, - or @ as a formula (and a leading tab or
    carriage return hides one): such cells get a leading apostrophe, which they show as text.
    So does such a character at the start of any line inside a cell, and after a comma, semicolon
    or tab, where a spreadsheet that splits the file on another separator than ours, or into
    lines, would start a cell."""
    value = re.sub(r"([,;\t\r\n])([=+\-@])", r"\1'\2", str(value))
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r", "\n") else value
