from django.urls import path, re_path

from xaso.traceability import public_views

app_name = "traceability"

# Public pages. Stamp and lot links are printed in capitals (smaller QR codes), so /S/ and /L/
# work as well as /s/ and /l/; codes are read case-insensitively.
urlpatterns = [
    re_path(r"^[sS]/(?P<code>[0-9A-Za-z-]{1,40})$", public_views.public_stamp, name="public_stamp"),
    re_path(
        r"^[sS]/(?P<code>[0-9A-Za-z-]{1,40})/report$",
        public_views.stamp_report,
        name="stamp_report",
    ),
    re_path(r"^[lL]/(?P<code>[0-9A-Za-z]{1,16})$", public_views.public_lot, name="public_lot"),
    re_path(
        r"^[lL]/(?P<code>[0-9A-Za-z]{1,16})/epcis$",
        public_views.public_lot_epcis,
        name="public_lot_epcis",
    ),
    path(".well-known/gs1resolver", public_views.resolver_description, name="gs1resolver"),
    path("anh/san-pham/<str:public_id>", public_views.product_photo, name="product_photo"),
    path("anh/nhat-ky/<str:public_id>", public_views.diary_photo, name="diary_photo"),
]

# The GS1 Digital Link resolver takes every path that starts with a numeric AI; it is included
# last in config/urls.py so no other page can be shadowed by it.
resolver_urlpatterns = [
    re_path(r"^(?P<path>[0-9]+(/.*)?)$", public_views.resolve, name="gs1_resolve"),
]
