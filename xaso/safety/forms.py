"""Forms of the safety pages: they parse and check formats; the rules live in actions.

Choices of records (places, users, organisations, incidents) are querysets the view takes from
the selectors, so a foreign id posted by hand is "not a valid choice" (a 400, never a 500).
"""

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from xaso.accounts.models import User
from xaso.places.models import Organisation, Place
from xaso.safety.models import Camera, Incident

MAX_PHOTO_BYTES = 5 * 1024 * 1024
DATE_ATTRS = {"placeholder": "dd/mm/yyyy", "inputmode": "numeric", "autocomplete": "off"}
DATETIME_FORMATS = ["%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
OPEN = ""  # the default status filter: new, acknowledged and dispatched incidents
ALL = "all"


def _date_field(label, *, required: bool = False) -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=forms.DateInput(attrs=DATE_ATTRS))


def _datetime_field(label) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(
            format="%d/%m/%Y %H:%M",
            attrs={"placeholder": "dd/mm/yyyy HH:MM", "autocomplete": "off"},
        ),
    )


def _coordinate_field(label) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        localize=True,
        max_digits=10,
        decimal_places=6,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )


def _photo_field(label) -> forms.ImageField:
    return forms.ImageField(
        label=label,
        required=False,
        help_text=_("Ảnh JPG hoặc PNG, tối đa 5 MB."),
        widget=forms.FileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )


def _place_label(place: Place) -> str:
    if place.kind == Place.Kind.VILLAGE:
        return f"— {place.name}"
    return str(place.name)


class _PlaceChoice(forms.ModelChoiceField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("empty_label", _("— Chọn —"))
        super().__init__(*args, queryset=Place.objects.none(), to_field_name="code", **kwargs)

    def label_from_instance(self, obj) -> str:
        return _place_label(obj)


class _UserChoice(forms.ModelChoiceField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("empty_label", _("— Chọn —"))
        super().__init__(*args, queryset=User.objects.none(), to_field_name="username", **kwargs)

    def label_from_instance(self, obj) -> str:
        return f"{obj.full_name} ({obj.username})" if obj.full_name else obj.username


# --- Command centre filters -------------------------------------------------------------------
class IncidentFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Trạng thái"),
        required=False,
        choices=[(OPEN, _("Đang mở")), (ALL, _("Tất cả")), *Incident.Status.choices],
    )
    category = forms.ChoiceField(
        label=_("Loại"), required=False, choices=[("", _("Mọi loại")), *Incident.Category.choices]
    )
    severity = forms.ChoiceField(
        label=_("Mức độ"),
        required=False,
        choices=[("", _("Mọi mức độ")), *Incident.Severity.choices],
    )
    village = _PlaceChoice(label=_("Địa bàn"), required=False, empty_label=_("Mọi địa bàn"))

    def __init__(self, *args, places, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = places
        for field in self.fields.values():
            field.widget.attrs["aria-label"] = field.label

    def selector_filters(self) -> dict:
        """Keyword arguments for selectors.incidents_for_user."""
        data = self.cleaned_data
        status = data.get("status") or OPEN
        return {
            "status": "" if status in (OPEN, ALL) else status,
            "open_only": status == OPEN,
            "category": data.get("category") or "",
            "severity": data.get("severity") or "",
            "place": data.get("village"),
        }


# --- Incidents --------------------------------------------------------------------------------
class IncidentReportForm(forms.Form):
    place = _PlaceChoice(label=_("Địa bàn"))
    category = forms.ChoiceField(label=_("Loại vụ việc"), choices=Incident.Category.choices)
    severity = forms.ChoiceField(
        label=_("Mức độ"), choices=Incident.Severity.choices, initial=Incident.Severity.MEDIUM
    )
    title = forms.CharField(label=_("Tiêu đề"), max_length=200)
    description = forms.CharField(
        label=_("Mô tả"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    latitude = _coordinate_field(_("Vĩ độ"))
    longitude = _coordinate_field(_("Kinh độ"))

    def __init__(self, *args, places, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["place"].queryset = places


class TransitionForm(forms.Form):
    """One workflow step; the view shows only the fields its action uses."""

    note = forms.CharField(
        label=_("Ghi chú"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    assignee = _UserChoice(label=_("Giao cho"), required=False)
    duplicate_of = forms.CharField(
        label=_("Mã vụ việc gốc"),
        required=False,
        max_length=16,
        help_text=_("Mã 16 ký tự của vụ việc trùng với vụ việc này."),
    )

    def __init__(self, *args, handlers, incidents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = handlers
        self._incidents = incidents

    def clean_duplicate_of(self):
        code = self.cleaned_data["duplicate_of"].strip().lower()
        if not code:
            return None
        original = self._incidents.filter(public_id=code).first()
        if original is None:
            raise forms.ValidationError(_("Không tìm thấy vụ việc với mã này."))
        return original


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Ghi chú"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    photo = _photo_field(_("Ảnh hiện trường"))

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if photo and photo.size > MAX_PHOTO_BYTES:
            raise forms.ValidationError(_("Ảnh quá lớn (tối đa 5 MB)."))
        return photo


class HoldForm(forms.Form):
    hold = forms.TypedChoiceField(
        choices=[("1", "1"), ("0", "0")], coerce=lambda value: value == "1"
    )
    note = forms.CharField(label=_("Lý do"), required=False, max_length=2000)


# --- Cameras and rules ------------------------------------------------------------------------
class CameraForm(forms.Form):
    name = forms.CharField(label=_("Tên camera"), max_length=150)
    place = _PlaceChoice(label=_("Địa bàn"))
    owner_kind = forms.ChoiceField(label=_("Chủ sở hữu"), choices=Camera.OwnerKind.choices)
    owner_organisation = forms.ModelChoiceField(
        label=_("Cơ quan, tổ chức"),
        required=False,
        queryset=Organisation.objects.none(),
        to_field_name="public_id",
        empty_label=_("— Chọn —"),
    )
    owner_household = forms.CharField(
        label=_("Hộ gia đình"),
        required=False,
        max_length=16,
        help_text=_("Chỉ với camera của hộ gia đình: chọn hộ sau khi tìm theo tên chủ hộ."),
    )
    consent_given_by = forms.CharField(label=_("Người đồng ý"), required=False, max_length=150)
    consent_given_on = _date_field(_("Ngày đồng ý"))
    has_signage = forms.BooleanField(label=_("Có biển thông báo ghi hình"), required=False)
    privacy_notes = forms.CharField(
        label=_("Ghi chú riêng tư"),
        required=False,
        max_length=2000,
        help_text=_("Những gì camera không được ghi (cửa nhà bên cạnh, sân trong…)."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    latitude = _coordinate_field(_("Vĩ độ"))
    longitude = _coordinate_field(_("Kinh độ"))
    is_black_spot = forms.BooleanField(label=_("Điểm đen giao thông"), required=False)
    frigate_name = forms.CharField(label=_("Tên trong Frigate"), required=False, max_length=64)
    vendor_id = forms.CharField(
        label=_("Mã thiết bị của hãng"),
        required=False,
        max_length=64,
        help_text=_("Số sê-ri hoặc kênh Hikvision, nếu camera gửi sự kiện ISAPI."),
    )
    stream_url = forms.CharField(
        label=_("Địa chỉ luồng (RTSP)"),
        required=False,
        max_length=1000,
        help_text=_("Chỉ ghi, không hiển thị lại. Để trống để giữ giá trị đã lưu."),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    credentials = forms.CharField(
        label=_("Tài khoản / mật khẩu camera"),
        required=False,
        max_length=1000,
        help_text=_("Chỉ ghi, không hiển thị lại. Để trống để giữ giá trị đã lưu."),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    zones = forms.CharField(
        label=_("Vùng phát hiện (JSON)"),
        required=False,
        help_text=_('Ví dụ: [{"name": "lan-duong", "polygon": [[0,0.5],[1,0.5],[1,1],[0,1]]}]'),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )
    heartbeat_seconds = forms.IntegerField(
        label=_("Chu kỳ tín hiệu (giây)"),
        min_value=30,
        max_value=86_400,
        initial=300,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args, places, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["place"].queryset = places
        self.fields["owner_organisation"].queryset = organisations

    def clean_zones(self):
        text = self.cleaned_data["zones"].strip()
        if not text:
            return []
        try:
            return json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(_("Vùng phát hiện phải là JSON hợp lệ.")) from error


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Tên quy tắc"), required=False, max_length=150)
    category = forms.ChoiceField(label=_("Loại vụ việc"), choices=Incident.Category.choices)
    severity = forms.ChoiceField(
        label=_("Mức độ"), choices=Incident.Severity.choices, initial=Incident.Severity.MEDIUM
    )
    label = forms.CharField(
        label=_("Đối tượng"),
        required=False,
        max_length=40,
        help_text=_("person, car, motorcycle, motion… Để trống: mọi đối tượng."),
    )
    zone = forms.CharField(label=_("Vùng"), required=False, max_length=64)
    min_score = forms.FloatField(
        label=_("Độ tin cậy tối thiểu (0–1)"), min_value=0, max_value=1, initial=0, localize=True
    )
    min_duration_seconds = forms.IntegerField(
        label=_("Thời lượng tối thiểu (giây)"), min_value=0, max_value=86_400, initial=0
    )
    hour_from = forms.IntegerField(label=_("Từ giờ"), required=False, min_value=0, max_value=23)
    hour_to = forms.IntegerField(label=_("Đến giờ"), required=False, min_value=0, max_value=24)
    min_count = forms.IntegerField(
        label=_("Số lần tối thiểu"), min_value=1, max_value=10_000, initial=1
    )
    window_minutes = forms.IntegerField(
        label=_("Cửa sổ gộp (phút)"), min_value=1, max_value=1_440, initial=10
    )
    is_active = forms.BooleanField(label=_("Đang áp dụng"), required=False, initial=True)


class DutyShiftForm(forms.Form):
    user = _UserChoice(label=_("Cán bộ trực"))
    place = _PlaceChoice(label=_("Địa bàn"))
    starts_at = _datetime_field(_("Bắt đầu"))
    ends_at = _datetime_field(_("Kết thúc"))

    def __init__(self, *args, users, places, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users
        self.fields["place"].queryset = places


# --- Statistics and citizen reports -----------------------------------------------------------
class PeriodForm(forms.Form):
    since = _date_field(_("Từ ngày"))
    until = _date_field(_("Đến ngày"))

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("“Từ ngày” phải trước “Đến ngày”."))
        return data


class ReportLinkForm(forms.Form):
    incident = forms.CharField(label=_("Mã vụ việc"), max_length=16)

    def __init__(self, *args, incidents, **kwargs):
        super().__init__(*args, **kwargs)
        self._incidents = incidents

    def clean_incident(self):
        incident = self._incidents.filter(
            public_id=self.cleaned_data["incident"].strip().lower()
        ).first()
        if incident is None:
            raise forms.ValidationError(_("Không tìm thấy vụ việc với mã này."))
        return incident


class ReportOpenForm(forms.Form):
    category = forms.ChoiceField(label=_("Loại vụ việc"), choices=Incident.Category.choices)
    severity = forms.ChoiceField(
        label=_("Mức độ"), choices=Incident.Severity.choices, initial=Incident.Severity.MEDIUM
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", False)  # one small form per row of the list
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["aria-label"] = field.label


class ReportCloseForm(forms.Form):
    note = forms.CharField(
        label=_("Kết quả gửi người phản ánh"),
        max_length=500,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
