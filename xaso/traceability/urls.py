from django.urls import path, re_path

from xaso.traceability import public_views, views

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
    # Logged-in pages, all under truy-xuat/.
    path("truy-xuat/", views.dashboard, name="dashboard"),
    path(
        "truy-xuat/bao-hang-gia/<str:public_id>/xu-ly/",
        views.report_handle,
        name="report_handle",
    ),
    path("truy-xuat/co-so/", views.producer_list, name="producers"),
    path("truy-xuat/co-so/dang-ky/", views.producer_register, name="producer_new"),
    path("truy-xuat/co-so/<str:public_id>/", views.producer_detail, name="producer"),
    path("truy-xuat/co-so/<str:public_id>/sua/", views.producer_edit, name="producer_edit"),
    path(
        "truy-xuat/co-so/<str:public_id>/chung-nhan/",
        views.certification_create,
        name="certification_new",
    ),
    path("truy-xuat/vung-trong/", views.area_list, name="areas"),
    path("truy-xuat/vung-trong/them/", views.area_edit, name="area_new"),
    path("truy-xuat/vung-trong/<str:public_id>/", views.area_detail, name="area"),
    path("truy-xuat/vung-trong/<str:public_id>/sua/", views.area_edit, name="area_edit"),
    path("truy-xuat/vung-trong/<str:public_id>/nhat-ky/", views.diary_create, name="diary_new"),
    path(
        "truy-xuat/nhat-ky/<str:public_id>/xac-nhan/",
        views.diary_countersign,
        name="diary_countersign",
    ),
    path("truy-xuat/san-pham/", views.product_list, name="products"),
    path("truy-xuat/san-pham/them/", views.product_edit, name="product_new"),
    path("truy-xuat/san-pham/<str:public_id>/sua/", views.product_edit, name="product_edit"),
    path("truy-xuat/lo-hang/", views.lot_list, name="lots"),
    path("truy-xuat/lo-hang/them/", views.lot_create, name="lot_new"),
    path("truy-xuat/lo-hang/<str:public_id>/", views.lot_detail, name="lot"),
    path("truy-xuat/lo-hang/<str:public_id>/thu-hoi/", views.lot_recall, name="lot_recall"),
    path("truy-xuat/tem/", views.stamp_run_list, name="stamp_runs"),
    path("truy-xuat/tem/dat-in/", views.stamp_run_create, name="stamp_run_new"),
    path("truy-xuat/tem/<str:public_id>/", views.stamp_run_detail, name="stamp_run"),
    path(
        "truy-xuat/tem/<str:public_id>/tai/<str:kind>/",
        views.stamp_export,
        name="stamp_export",
    ),
    path("truy-xuat/tem/<str:public_id>/da-in/", views.stamp_run_printed, name="stamp_run_printed"),
    path("truy-xuat/tem/<str:public_id>/huy/", views.stamp_run_void, name="stamp_run_void"),
    path(
        "truy-xuat/tem/<str:public_id>/kich-hoat/",
        views.stamp_run_activate,
        name="stamp_run_activate",
    ),
]

# The GS1 Digital Link resolver takes every path that starts with a numeric AI; it is included
# last in config/urls.py so no other page can be shadowed by it.
resolver_urlpatterns = [
    re_path(r"^(?P<path>[0-9]+(/.*)?)$", public_views.resolve, name="gs1_resolve"),
]
