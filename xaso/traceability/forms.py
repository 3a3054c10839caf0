"""Forms of the traceability pages: they parse and check formats; the rules live in actions.

Choices of records (producers, areas, products, lots) are querysets the view takes from the
selectors with the write capability, so a foreign id posted by hand is "not a valid choice".
"""

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from xaso.places.models import Organisation, Place
from xaso.traceability.actions import LABEL_LAYOUTS, MAX_STAMPS_PER_RUN
from xaso.traceability.models import (
    Certification,
    DiaryEntry,
    GrowingArea,
    Lot,
    Producer,
    Product,
)

MAX_PHOTO_BYTES = 5 * 1024 * 1024
DATE_ATTRS = {"placeholder": "dd/mm/yyyy", "inputmode": "numeric", "autocomplete": "off"}


def _date_field(label, *, required: bool = True) -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=forms.DateInput(attrs=DATE_ATTRS))


def _decimal_field(label, *, required: bool = True) -> forms.DecimalField:
    # Localised: "2,5" (Vietnamese) and "2.5" both read as two and a half.
    return forms.DecimalField(
        label=label,
        required=required,
        localize=True,
        max_digits=12,
        decimal_places=3,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )


def _photo_field(label) -> forms.ImageField:
    return forms.ImageField(
        label=label,
        required=False,
        help_text=_("Ảnh JPG hoặc PNG, tối đa 5 MB."),
        widget=forms.FileInput(attrs={"accept": "image/*"}),
    )


def _check_photo_size(photo):
    if photo and photo.size > MAX_PHOTO_BYTES:
        raise forms.ValidationError(_("Ảnh quá lớn (tối đa 5 MB)."))
    return photo


class _Choice(forms.ModelChoiceField):
    """Records chosen by their public id, labelled by a function of the row."""

    def __init__(self, *args, label_of=str, **kwargs):
        kwargs.setdefault("empty_label", _("— Chọn —"))
        super().__init__(*args, to_field_name="public_id", **kwargs)
        self.label_of = label_of

    def label_from_instance(self, obj) -> str:
        return self.label_of(obj)


class _WithProducer(forms.Form):
    """A form whose record belongs to one of the user's producers: the choice shows only when
    there is more than one (an administrator); a cooperative's own account never sees it."""

    def __init__(self, *args, producers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.only_producer = None
        if producers is None:
            return
        producers = list(producers)
        if len(producers) == 1:
            self.only_producer = producers[0]
        else:
            self.fields = {
                "producer": _Choice(
                    label=_("Cơ sở sản xuất"),
                    queryset=_queryset_of(producers),
                    label_of=lambda p: f"{p.public_name} ({p.place.name})",
                ),
                **self.fields,
            }

    def chosen_producer(self) -> Producer:
        return self.only_producer or self.cleaned_data["producer"]


def _queryset_of(producers: list[Producer]):
    return Producer.objects.filter(pk__in=[p.pk for p in producers]).select_related("place")


# --- Producers --------------------------------------------------------------------------------
class ProducerForm(forms.Form):
    kind = forms.ChoiceField(label=_("Loại hình"), choices=Producer.Kind.choices)
    public_name = forms.CharField(label=_("Tên công bố"), max_length=200)
    public_address = forms.CharField(label=_("Địa chỉ công bố"), max_length=255)
    public_phone = forms.CharField(
        label=_("Điện thoại công bố"),
        max_length=20,
        required=False,
        help_text=_("Hiện trên trang truy xuất công khai; để trống nếu không muốn công bố."),
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    description = forms.CharField(
        label=_("Giới thiệu"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    gs1_company_prefix = forms.CharField(
        label=_("Mã doanh nghiệp GS1"),
        max_length=12,
        required=False,
        help_text=_("6 đến 12 chữ số, nếu cơ sở đã đăng ký với GS1 Việt Nam."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )


class ProducerRegisterForm(ProducerForm):
    organisation = _Choice(label=_("Tổ chức"), queryset=Organisation.objects.none())

    field_order = ["organisation"]

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["organisation"]
        field.queryset = organisations
        field.label_of = lambda o: f"{o.name} — {o.get_kind_display()} ({o.place.name})"
        field.help_text = _("Các tổ chức của xã chưa đăng ký là cơ sở sản xuất.")


class CertificationForm(forms.Form):
    scheme = forms.ChoiceField(label=_("Chứng nhận"), choices=Certification.Scheme.choices)
    number = forms.CharField(label=_("Số giấy chứng nhận"), max_length=60)
    issuer = forms.CharField(label=_("Tổ chức cấp"), max_length=200)
    valid_from = _date_field(_("Hiệu lực từ"))
    valid_until = _date_field(_("Hiệu lực đến"))
    area = _Choice(
        label=_("Vùng trồng"),
        queryset=GrowingArea.objects.none(),
        required=False,
        empty_label=_("Cả cơ sở"),
        label_of=lambda a: f"{a.code} — {a.name}",
    )

    def __init__(self, *args, areas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas


# --- Growing areas ----------------------------------------------------------------------------
class AreaForm(_WithProducer):
    code = forms.CharField(
        label=_("Mã vùng trồng"), max_length=40, help_text=_("Ví dụ: VN-QN-A-001.")
    )
    name = forms.CharField(label=_("Tên vùng"), max_length=150)
    crop = forms.CharField(label=_("Cây trồng"), max_length=100)
    area_ha = _decimal_field(_("Diện tích (ha)"))
    village = forms.ModelChoiceField(
        label=_("Thôn"),
        queryset=Place.objects.none(),
        to_field_name="code",
        empty_label=_("— Chọn —"),
    )
    planted_on = _date_field(_("Ngày trồng / xuống giống"), required=False)
    status = forms.ChoiceField(label=_("Trạng thái"), choices=GrowingArea.Status.choices)
    boundary = forms.CharField(
        label=_("Ranh giới (GeoJSON)"),
        required=False,
        help_text=_(
            "Dán Polygon hoặc MultiPolygon (kinh độ trước, vĩ độ sau), "
            "ví dụ xuất từ geojson.io. Để trống nếu chưa có."
        ),
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
    )

    def __init__(self, *args, villages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = villages

    def clean_boundary(self):
        text = self.cleaned_data["boundary"].strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(
                _("Không đọc được GeoJSON: %(error)s"), params={"error": error}
            ) from error


# --- Farm diary -------------------------------------------------------------------------------
class DiaryEntryForm(forms.Form):
    kind = forms.ChoiceField(label=_("Công việc"), choices=DiaryEntry.Kind.choices)
    status = forms.ChoiceField(
        label=_("Tình trạng"), choices=DiaryEntry.Status.choices, initial=DiaryEntry.Status.DONE
    )
    occurred_on = _date_field(_("Ngày"))
    description = forms.CharField(
        label=_("Nội dung"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    photo = _photo_field(_("Ảnh"))
    # Spraying only.
    pesticide = forms.CharField(label=_("Tên thuốc"), max_length=150, required=False)
    active_ingredient = forms.CharField(label=_("Hoạt chất"), max_length=150, required=False)
    dose = forms.CharField(label=_("Liều lượng"), max_length=100, required=False)
    pre_harvest_interval_days = forms.IntegerField(
        label=_("Thời gian cách ly (ngày)"),
        min_value=0,
        max_value=365,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    # Harvest only.
    quantity = _decimal_field(_("Sản lượng"), required=False)
    unit = forms.CharField(label=_("Đơn vị"), max_length=20, required=False)
    # Commune officers only.
    guard_override_reason = forms.CharField(
        label=_("Lý do cho phép thu hoạch trong thời gian cách ly"),
        max_length=500,
        required=False,
        help_text=_("Chỉ cán bộ xã; để trống nếu không cần."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    SPRAYING_FIELDS = ("pesticide", "active_ingredient", "dose", "pre_harvest_interval_days")
    HARVEST_FIELDS = ("quantity", "unit", "guard_override_reason")

    def __init__(self, *args, can_override: bool, officer_only: bool = False, **kwargs):
        """`officer_only`: a commune officer who does not manage the area only records a
        harvest she lets through inside an interval, with her reason; nothing else."""
        super().__init__(*args, **kwargs)
        if not can_override:
            del self.fields["guard_override_reason"]
        if officer_only:
            self.fields["kind"].choices = [(DiaryEntry.Kind.HARVEST, DiaryEntry.Kind.HARVEST.label)]
            self.fields["status"].choices = [(DiaryEntry.Status.DONE, DiaryEntry.Status.DONE.label)]
            self.fields["guard_override_reason"].required = True
            self.fields["guard_override_reason"].help_text = ""
            for name in self.SPRAYING_FIELDS:
                del self.fields[name]

    def clean_photo(self):
        return _check_photo_size(self.cleaned_data.get("photo"))

    def common_fields(self):
        extra = {*self.SPRAYING_FIELDS, *self.HARVEST_FIELDS}
        return [field for field in self if field.name not in extra]

    def spraying_fields(self):
        return [self[name] for name in self.SPRAYING_FIELDS if name in self.fields]

    def harvest_fields(self):
        return [self[name] for name in self.HARVEST_FIELDS if name in self.fields]


# --- Products ---------------------------------------------------------------------------------
class ProductForm(_WithProducer):
    name = forms.CharField(label=_("Tên sản phẩm"), max_length=200)
    photo = _photo_field(_("Ảnh sản phẩm"))
    gtin = forms.CharField(
        label=_("Mã GTIN (mã vạch)"),
        max_length=14,
        required=False,
        help_text=_("13 hoặc 14 chữ số, nếu sản phẩm đã có mã vạch GS1."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    ocop_points = forms.IntegerField(
        label=_("Điểm OCOP"),
        min_value=0,
        max_value=100,
        required=False,
        help_text=_("50–69 điểm: 3 sao; 70–89: 4 sao; từ 90: 5 sao."),
    )
    shelf_life_days = forms.IntegerField(
        label=_("Hạn sử dụng (ngày)"), min_value=0, max_value=3650, required=False
    )
    unit = forms.CharField(label=_("Đơn vị tính"), max_length=20, initial="kg")
    description = forms.CharField(
        label=_("Mô tả"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_photo(self):
        return _check_photo_size(self.cleaned_data.get("photo"))


# --- Lots -------------------------------------------------------------------------------------
def _harvest_label(entry: DiaryEntry) -> str:
    amount = f" · {entry.quantity.normalize():f} {entry.unit}" if entry.quantity else ""
    return f"{entry.area.code} · {entry.occurred_on:%d/%m/%Y}{amount}"


class LotForm(forms.Form):
    product = _Choice(label=_("Sản phẩm"), queryset=Product.objects.none())
    area = _Choice(
        label=_("Vùng trồng"),
        queryset=GrowingArea.objects.none(),
        label_of=lambda a: f"{a.code} — {a.name}",
    )
    harvest = _Choice(
        label=_("Lần thu hoạch trong nhật ký"),
        queryset=DiaryEntry.objects.none(),
        required=False,
        empty_label=_("Ghi lần thu hoạch mới theo ngày bên dưới"),
        label_of=_harvest_label,
        help_text=_("Chọn nếu lần thu hoạch đã được ghi (kể cả lần được cán bộ xã cho phép)."),
    )
    batch = forms.CharField(
        label=_("Số lô"),
        max_length=20,
        required=False,
        help_text=_("Để trống để hệ thống tự đặt theo ngày thu hoạch."),
    )
    quantity = _decimal_field(_("Số lượng"))
    unit = forms.CharField(
        label=_("Đơn vị"),
        max_length=20,
        required=False,
        help_text=_("Để trống để dùng đơn vị của sản phẩm."),
    )
    harvest_start = _date_field(_("Thu hoạch từ ngày"))
    harvest_end = _date_field(_("Đến ngày"), required=False)
    guard_override_reason = forms.CharField(
        label=_("Lý do cho phép thu hoạch trong thời gian cách ly"),
        max_length=500,
        required=False,
        help_text=_("Chỉ cán bộ xã; để trống nếu không cần."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, products, areas, harvests, can_override: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products
        self.fields["area"].queryset = areas
        self.fields["harvest"].queryset = harvests
        if not can_override:
            del self.fields["guard_override_reason"]


class RecallForm(forms.Form):
    reason = forms.CharField(
        label=_("Lý do thu hồi"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    confirm = forms.BooleanField(
        label=_("Tôi xác nhận thu hồi lô này: mọi tem của lô sẽ báo «đã thu hồi».")
    )


# --- Stamp runs -------------------------------------------------------------------------------
LAYOUT_LABELS = {"65": _("65 tem/tờ A4 (38,1 × 21,2 mm)"), "21": _("21 tem/tờ A4 (63,5 × 38,1 mm)")}


class StampRunForm(forms.Form):
    product = _Choice(label=_("Sản phẩm"), queryset=Product.objects.none())
    count = forms.IntegerField(
        label=_("Số tem"),
        min_value=1,
        max_value=MAX_STAMPS_PER_RUN,
        help_text=_("Từ 1 đến 1.000.000 tem mỗi đợt."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    layout = forms.ChoiceField(
        label=_("Khổ tem"), choices=[(key, LAYOUT_LABELS[key]) for key in LABEL_LAYOUTS]
    )

    def __init__(self, *args, products, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products


class ActivateForm(forms.Form):
    lot = _Choice(
        label=_("Lô hàng"),
        queryset=Lot.objects.none(),
        label_of=lambda lot: f"{lot.batch} · {lot.harvest_end:%d/%m/%Y} · {lot.code}",
    )
    first_serial = forms.IntegerField(
        label=_("Từ tem số"), min_value=1, required=False, help_text=_("Để trống: từ tem đầu.")
    )
    last_serial = forms.IntegerField(
        label=_("Đến tem số"), min_value=1, required=False, help_text=_("Để trống: đến tem cuối.")
    )

    def __init__(self, *args, lots, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lot"].queryset = lots


class VoidForm(forms.Form):
    reason = forms.CharField(
        label=_("Lý do huỷ"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    confirm = forms.BooleanField(label=_("Tôi xác nhận huỷ đợt tem: mọi tem sẽ báo «đã huỷ»."))
