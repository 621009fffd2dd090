#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    if sys.version_info < (3, 12):  # noqa: UP036 (older Pythons get a message)
        sys.exit(f"Viewport needs Python 3.12 or newer (Django 6.1); this is {sys.version.split()[0]}.")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "viewport.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.SECRET_KEY  # noqa: B018 (reads viewport/settings.py, which says what is missing)
    except ImproperlyConfigured as error:
        sys.exit(f"{error} For a local run, set DJANGO_DEBUG=true (see .env.example).")
    execute_from_command_line(sys.argv)
