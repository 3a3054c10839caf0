from django import forms
from django.utils.translation import gettext_lazy as _

from xaso.notify.models import Kind

# The fields of the "add a channel" form for each kind (web push is added by the button).
KIND_FIELDS = {
    Kind.WEBHOOK: ("url",),
    Kind.EMAIL: ("email",),
    Kind.NTFY: ("server", "topic", "token"),
    Kind.ZALO: ("phone", "template_id"),
    Kind.SMS: ("phone",),
}


class ChannelForm(forms.Form):
    """One form for every kind: the action checks the fields the kind needs."""

    kind = forms.ChoiceField(
        label=_("Loại kênh"), choices=[(kind.value, kind.label) for kind in KIND_FIELDS]
    )
    label = forms.CharField(label=_("Tên gọi"), max_length=100, required=False)
    url = forms.CharField(
        label=_("Địa chỉ webhook"), max_length=500, required=False, help_text="https://…"
    )
    email = forms.CharField(label=_("Thư điện tử"), max_length=254, required=False)
    server = forms.CharField(
        label=_("Máy chủ ntfy"), max_length=200, required=False, help_text="https://ntfy.sh"
    )
    topic = forms.CharField(label=_("Chủ đề ntfy"), max_length=64, required=False)
    token = forms.CharField(
        label=_("Khoá truy cập ntfy (nếu có)"),
        max_length=200,
        required=False,
        widget=forms.PasswordInput,
    )
    phone = forms.CharField(label=_("Số điện thoại"), max_length=20, required=False)
    template_id = forms.CharField(label=_("Mã mẫu tin ZNS"), max_length=40, required=False)

    def config(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in KIND_FIELDS[self.cleaned_data["kind"]]
            if self.cleaned_data.get(name)
        }
