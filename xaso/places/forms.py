"""Forms parse and check formats; the rules themselves live in actions (InvalidInput)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from xaso.places.actions import VILLAGE_DIVISION_TYPES
from xaso.places.models import Consent, Organisation, Place, Resident


class PlaceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, place: Place) -> str:
        return place.name if place.kind == Place.Kind.VILLAGE else f"{place.name} (cấp xã)"


class HouseholdForm(forms.Form):
    village = PlaceChoiceField(label=_("Thôn"), queryset=Place.objects.none(), to_field_name="code")
    head_name = forms.CharField(label=_("Họ tên chủ hộ"), max_length=150)
    code = forms.CharField(label=_("Mã hộ"), max_length=30, required=False)
    address = forms.CharField(label=_("Địa chỉ"), max_length=255, required=False)
    notes = forms.CharField(
        label=_("Ghi chú"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, villages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = villages


class ResidentForm(forms.Form):
    full_name = forms.CharField(label=_("Họ và tên"), max_length=150)
    gender = forms.ChoiceField(label=_("Giới tính"), choices=Resident.Gender.choices)
    birth_date = forms.DateField(
        label=_("Ngày sinh"),
        required=False,
        help_text=_("dd/mm/yyyy"),
        widget=forms.DateInput(attrs={"placeholder": "dd/mm/yyyy", "inputmode": "numeric"}),
    )
    relation_to_head = forms.CharField(label=_("Quan hệ với chủ hộ"), max_length=50, required=False)
    cccd = forms.CharField(
        label=_("Số CCCD"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("Số điện thoại"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )


class ResidentEditForm(ResidentForm):
    """On edit, an empty identifier field means "leave as it is"; a value replaces it."""

    cccd = forms.CharField(
        label=_("Số CCCD mới"),
        max_length=20,
        required=False,
        help_text=_("Để trống nếu không thay đổi."),
    )
    phone = forms.CharField(
        label=_("Số điện thoại mới"),
        max_length=20,
        required=False,
        help_text=_("Để trống nếu không thay đổi."),
    )
    clear_phone = forms.BooleanField(label=_("Xoá số điện thoại"), required=False)


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Mục đích"), choices=Consent.Purpose.choices)
    given = forms.TypedChoiceField(
        label=_("Ý kiến"),
        choices=[("1", _("Đồng ý")), ("0", _("Rút lại đồng ý"))],
        coerce=lambda value: value == "1",
    )
    method = forms.ChoiceField(label=_("Hình thức"), choices=Consent.Method.choices)
    note = forms.CharField(label=_("Ghi chú"), max_length=255, required=False)


class EraseForm(forms.Form):
    reason = forms.CharField(label=_("Lý do xoá (số đơn, ngày yêu cầu)"), max_length=255)
    confirm = forms.BooleanField(label=_("Tôi hiểu việc xoá không thể hoàn tác."))


class OrganisationForm(forms.Form):
    place = PlaceChoiceField(
        label=_("Địa bàn"), queryset=Place.objects.none(), to_field_name="code"
    )
    name = forms.CharField(label=_("Tên tổ chức"), max_length=200)
    kind = forms.ChoiceField(label=_("Loại hình"), choices=Organisation.Kind.choices)
    tax_code = forms.CharField(label=_("Mã số thuế"), max_length=14, required=False)
    address = forms.CharField(label=_("Địa chỉ"), max_length=255, required=False)
    phone = forms.CharField(label=_("Điện thoại cơ quan"), max_length=20, required=False)
    representative = forms.CharField(label=_("Người đại diện"), max_length=150, required=False)

    def __init__(self, *args, places, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["place"].queryset = places


class VillageForm(forms.Form):
    name = forms.CharField(label=_("Tên thôn"), max_length=150)
    division_type = forms.ChoiceField(
        label=_("Loại"), choices=[(value, value.capitalize()) for value in VILLAGE_DIVISION_TYPES]
    )


class MergeForm(forms.Form):
    old = forms.CharField(label=_("Mã xã cũ (bị sáp nhập)"), max_length=20)
    into = forms.CharField(label=_("Mã xã mới (tiếp nhận)"), max_length=20)
    merged_on = forms.DateField(
        label=_("Ngày sáp nhập"), widget=forms.DateInput(attrs={"placeholder": "dd/mm/yyyy"})
    )
