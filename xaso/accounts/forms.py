from django import forms
from django.apps import apps
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from xaso.accounts.models import User
from xaso.accounts.roles import Role


class LoginForm(AuthenticationForm):
    # Django's Vietnamese catalogue lacks these two messages.
    error_messages = {
        "invalid_login": _(
            "Tên đăng nhập hoặc mật khẩu không đúng. Lưu ý: mật khẩu phân biệt chữ hoa và "
            "chữ thường."
        ),
        "inactive": _("Tài khoản này đã bị khoá."),
    }


class MembershipForm(forms.Form):
    user = forms.ModelChoiceField(
        label=_("Người dùng"),
        queryset=User.objects.filter(is_active=True),
        to_field_name="username",
        widget=forms.TextInput(attrs={"placeholder": _("tên đăng nhập")}),
    )
    place = forms.CharField(
        label=_("Mã địa bàn"),
        max_length=20,
        help_text=_("Mã tỉnh (22), mã xã (06913) hoặc mã thôn (06913-01)."),
    )
    role = forms.ChoiceField(label=_("Vai trò"), choices=Role.choices)
    organisation = forms.CharField(label=_("Mã tổ chức (cho người sản xuất)"), required=False)

    def clean_place(self):
        # Places are looked up by model name: accounts sits below places and never imports it.
        place_model = apps.get_model("places", "Place")
        place = place_model.objects.filter(code=self.cleaned_data["place"].strip()).first()
        if place is None:
            raise forms.ValidationError(_("Không tìm thấy địa bàn với mã này."))
        return place

    def clean_organisation(self):
        public_id = self.cleaned_data["organisation"].strip()
        if not public_id:
            return None
        organisation_model = apps.get_model("places", "Organisation")
        organisation = organisation_model.objects.filter(public_id=public_id).first()
        if organisation is None:
            raise forms.ValidationError(_("Không tìm thấy tổ chức với mã này."))
        return organisation


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("Tên đăng nhập"), max_length=150)
    full_name = forms.CharField(label=_("Họ và tên"), max_length=150, required=False)
    password = forms.CharField(
        label=_("Mật khẩu ban đầu"),
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Ít nhất 8 ký tự; người dùng nên đổi sau lần đăng nhập đầu."),
    )


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Người thực hiện"), required=False)
    verb = forms.CharField(
        label=_("Thao tác"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "resident."}),
    )
    target = forms.CharField(label=_("Mã bản ghi"), required=False)
    since = forms.DateField(
        label=_("Từ ngày"),
        required=False,
        widget=forms.DateInput(attrs={"placeholder": "dd/mm/yyyy"}),
    )
    until = forms.DateField(
        label=_("Đến ngày"),
        required=False,
        widget=forms.DateInput(attrs={"placeholder": "dd/mm/yyyy"}),
    )
