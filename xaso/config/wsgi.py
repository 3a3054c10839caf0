"""The WSGI application that gunicorn serves (`xaso serve`).

Every page goes through Django's full middleware chain except the public scan pages (stamp,
lot and GS1 Digital Link pages), the most requested pages of the site: they carry no session,
login, CSRF token or message, so they go through the shorter chain
`XASO_SCAN_PAGE_MIDDLEWARE` (docs/decisions/0023). Same settings, same URLs, same views.
"""

import os
import re

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xaso.config.settings")
django.setup(set_prefix=False)

# /s/{code}, /l/{code} and what follows them, and the resolver's /{digits}/…
SCAN_PAGE_PATH = re.compile(r"/(?:[sSlL]/|[0-9])")


class ScanPageHandler(WSGIHandler):
    """Django's handler with the scan pages' middleware chain."""

    def load_middleware(self, is_async=False):
        # Django builds the chain from settings.MIDDLEWARE; once, when the handler is made.
        full_chain = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.XASO_SCAN_PAGE_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full_chain


class Application:
    def __init__(self):
        self.pages = WSGIHandler()
        self.scan_pages = ScanPageHandler()

    def __call__(self, environ, start_response):
        scan_page = SCAN_PAGE_PATH.match(environ.get("PATH_INFO", ""))
        handler = self.scan_pages if scan_page else self.pages
        return handler(environ, start_response)


application = Application()
