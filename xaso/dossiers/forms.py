"""Forms of the one-stop shop pages. They parse and check formats; rules live in actions."""

import csv
import datetime
import io
import json

from django import forms
from django.utils.translation import gettext_lazy as _

from xaso.dossiers.models import Dossier, Procedure, Receipt

DATE_INPUT_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]
FILE_ACCEPT = "application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"
MAX_IMPORT_BYTES = 2_000_000
CSV_COLUMNS = [
    "code",
    "name",
    "field",
    "processing_days",
    "fee_name",
    "fee_amount",
    "documents",
    "result_type",
    "online_level",
    "steps",
    "is_active",
]
FALSE_WORDS = {"0", "false", "no", "khong", "không", "f", "n"}


def _date_field(label, *, required=False):
    return forms.DateField(
        label=label,
        required=required,
        input_formats=DATE_INPUT_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


def document_field_name(index: int) -> str:
    return f"giay_to_{index}"


def _file_input():
    return forms.ClearableFileInput(attrs={"accept": FILE_ACCEPT})


# --- Applicant and documents --------------------------------------------------------------------
class ApplicantForm(forms.Form):
    """The applicant's details and one file input per document of the procedure."""

    name = forms.CharField(label=_("Họ và tên người nộp"), max_length=150)
    phone = forms.CharField(
        label=_("Số điện thoại"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    email = forms.CharField(
        label=_("E-mail"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    id_number = forms.CharField(
        label=_("Số CCCD"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    address = forms.CharField(label=_("Địa chỉ"), max_length=255, required=False)

    # Errors of actions._applicant name "applicant.<field>".
    error_fields = {
        "applicant.name": "name",
        "applicant.phone": "phone",
        "applicant.email": "email",
        "applicant.id_number": "id_number",
    }

    def __init__(self, *args, procedure: Procedure | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.procedure = procedure
        self.document_fields: list[str] = []
        for index, document in enumerate(procedure.documents if procedure else []):
            name = document_field_name(index)
            self.fields[name] = forms.FileField(
                label=document["name"],
                required=bool(document.get("required")),
                widget=_file_input(),
                help_text=_("PDF, JPEG hoặc PNG"),
            )
            self.document_fields.append(name)

    def applicant(self) -> dict:
        return {key: self.cleaned_data.get(key, "") for key in ApplicantForm.base_fields}

    def uploads(self) -> list[tuple[str, bytes, str]]:
        uploads = []
        for index, document in enumerate(self.procedure.documents if self.procedure else []):
            upload = self.cleaned_data.get(document_field_name(index))
            if upload:
                uploads.append((document["name"], upload.read(), upload.name[:200]))
        return uploads

    def documents(self):
        return [self[name] for name in self.document_fields]

    def person_fields(self):
        return [self[name] for name in ApplicantForm.base_fields]


class ProcedureChoiceForm(forms.Form):
    procedure = forms.ModelChoiceField(
        label=_("Thủ tục"), queryset=Procedure.objects.none(), to_field_name="code"
    )

    def __init__(self, *args, procedures, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["procedure"].queryset = procedures
        self.fields["procedure"].label_from_instance = lambda p: f"{p.name} ({p.code})"


class CommuneChoiceForm(forms.Form):
    commune = forms.ModelChoiceField(
        label=_("Xã/phường nhận hồ sơ"), queryset=None, to_field_name="code"
    )

    def __init__(self, *args, communes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["commune"].queryset = communes
        self.fields["commune"].label_from_instance = lambda place: (
            f"{place.name}, {place.parent.name}" if place.parent_id else place.name
        )


class SecretForm(forms.Form):
    secret = forms.CharField(max_length=20, widget=forms.HiddenInput)


# --- Public lookup ------------------------------------------------------------------------------
class LookupForm(forms.Form):
    code = forms.CharField(
        label=_("Mã hồ sơ"),
        max_length=60,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    secret = forms.CharField(
        label=_("Mã tra cứu"),
        max_length=20,
        help_text=_("In trên giấy hẹn trả kết quả, hoặc hiện khi nộp trực tuyến."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def clean_code(self):
        return self.cleaned_data["code"].strip()

    def clean_secret(self):
        return self.cleaned_data["secret"].strip()


class RateForm(LookupForm):
    rating = forms.TypedChoiceField(
        label=_("Mức độ hài lòng"),
        coerce=int,
        choices=[
            (5, _("5 – Rất hài lòng")),
            (4, _("4 – Hài lòng")),
            (3, _("3 – Bình thường")),
            (2, _("2 – Chưa hài lòng")),
            (1, _("1 – Không hài lòng")),
        ],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Góp ý"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class SupplementForm(LookupForm):
    """The papers asked for, as files; each answers one of the procedure's documents."""

    def __init__(self, *args, procedure: Procedure | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.procedure = procedure
        documents = procedure.documents if procedure else []
        for index, document in enumerate(documents):
            self.fields[document_field_name(index)] = forms.FileField(
                label=document["name"], required=False, widget=_file_input()
            )
        if not documents:
            self.fields[document_field_name(0)] = forms.FileField(
                label=_("Giấy tờ bổ sung"), required=False, widget=_file_input()
            )

    def clean(self):
        data = super().clean()
        if not any(data.get(name) for name in self.fields if name.startswith("giay_to_")):
            raise forms.ValidationError(_("Vui lòng chọn ít nhất một tệp bổ sung."))
        return data

    def uploads(self) -> list[tuple[str, bytes, str]]:
        documents = self.procedure.documents if self.procedure else []
        names = [d["name"] for d in documents] or [str(_("Giấy tờ bổ sung"))]
        uploads = []
        for index, name in enumerate(names):
            upload = self.cleaned_data.get(document_field_name(index))
            if upload:
                uploads.append((name, upload.read(), upload.name[:200]))
        return uploads

    def documents(self):
        return [self[name] for name in self.fields if name.startswith("giay_to_")]


# --- Officer pages ------------------------------------------------------------------------------
class QueueFilterForm(forms.Form):
    q = forms.CharField(label=_("Tìm"), max_length=100, required=False)
    status = forms.ChoiceField(label=_("Trạng thái"), required=False)
    procedure = forms.ChoiceField(label=_("Thủ tục"), required=False)

    def __init__(self, *args, procedures, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("Mọi trạng thái")), *Dossier.Status.choices]
        self.fields["procedure"].choices = [("", _("Mọi thủ tục"))] + [
            (code, f"{name} ({code})") for code, name in procedures
        ]
        self.fields["q"].widget.attrs.update(
            type="search", placeholder=_("Mã hồ sơ, họ tên, số điện thoại, CCCD")
        )


class TransitionForm(forms.Form):
    note = forms.CharField(
        label=_("Ghi chú"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    assignee = forms.ModelChoiceField(
        label=_("Cán bộ xử lý"), queryset=None, required=False, to_field_name="username"
    )
    new_due = _date_field(_("Ngày hẹn mới"))
    returned_via = forms.ChoiceField(
        label=_("Hình thức trả kết quả"), required=False, choices=Dossier.Channel.choices
    )
    result = forms.FileField(
        label=_("Tệp kết quả (PDF, JPEG, PNG)"), required=False, widget=_file_input()
    )

    def __init__(self, *args, assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees
        self.fields["assignee"].label_from_instance = lambda user: (
            f"{user.full_name} ({user.username})" if user.full_name else user.username
        )


class PeriodForm(forms.Form):
    since = _date_field(_("Từ ngày"))
    until = _date_field(_("Đến ngày"))

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("“Từ ngày” phải trước “Đến ngày”."))
        return data


class RegisterForm(PeriodForm):
    commune = forms.ModelChoiceField(label=_("Xã"), queryset=None, to_field_name="code")
    kind = forms.ChoiceField(choices=[("pdf", "PDF"), ("xlsx", "XLSX")], initial="pdf")

    def __init__(self, *args, communes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["commune"].queryset = communes
        self.fields["since"].required = self.fields["until"].required = True


# --- Payments and receipts ----------------------------------------------------------------------
class PaymentRequestForm(forms.Form):
    fee_name = forms.CharField(label=_("Tên phí, lệ phí"), max_length=200)
    amount = forms.IntegerField(label=_("Số tiền (đồng)"), min_value=1)
    method = forms.ChoiceField(label=_("Hình thức"), choices=Receipt.Method.choices)
    error_fields = {"fee": "fee_name"}


class PaymentConfirmForm(forms.Form):
    bank_reference = forms.CharField(label=_("Mã giao dịch ngân hàng"), max_length=100)


class ReceiptIssueForm(forms.Form):
    payment = forms.CharField(required=False, widget=forms.HiddenInput)
    fee_name = forms.CharField(label=_("Tên phí, lệ phí"), max_length=200)
    amount = forms.IntegerField(label=_("Số tiền (đồng)"), min_value=1)
    method = forms.ChoiceField(label=_("Hình thức"), choices=Receipt.Method.choices)
    error_fields = {"fee": "fee_name"}


class ReceiptCancelForm(forms.Form):
    reason = forms.CharField(label=_("Lý do"), max_length=1000)


class ReceiptReplaceForm(ReceiptCancelForm):
    amount = forms.IntegerField(label=_("Số tiền đúng (đồng)"), min_value=1, required=False)
    fee_name = forms.CharField(label=_("Tên phí đúng"), max_length=200, required=False)
    error_fields = {"fee": "fee_name"}


# --- Administration -----------------------------------------------------------------------------
def documents_text(documents: list[dict]) -> str:
    optional = str(_("(không bắt buộc)"))
    return "\n".join(
        d["name"] if d.get("required", True) else f"{d['name']} {optional}" for d in documents
    )


def steps_text(steps: list[dict]) -> str:
    return "\n".join(
        "; ".join(
            [
                step["action"],
                f"{step.get('share', 0):g}",
                step.get("name", ""),
                step.get("role", ""),
            ]
        ).rstrip("; ")
        for step in steps
    )


def parse_documents(text: str) -> list:
    """One document a line, "(không bắt buộc)" at its end if optional; or a JSON list."""
    text = (text or "").strip()
    if text.startswith("["):
        return json.loads(text)
    optional = str(_("(không bắt buộc)"))
    documents = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        required = not line.endswith(optional)
        name = line[: -len(optional)].strip() if not required else line
        documents.append({"name": name, "required": required})
    return documents


def parse_steps(text: str) -> list:
    """ "action; share; name; role" a line, or a JSON list."""
    text = (text or "").strip()
    if text.startswith("["):
        return json.loads(text)
    steps = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split(";")] + ["", "", "", ""]
        steps.append({"action": parts[0], "share": parts[1], "name": parts[2], "role": parts[3]})
    return steps


class ProcedureForm(forms.Form):
    code = forms.CharField(label=_("Mã thủ tục"), max_length=30)
    name = forms.CharField(label=_("Tên thủ tục"), max_length=300)
    field = forms.CharField(label=_("Lĩnh vực"), max_length=150, required=False)
    processing_days = forms.IntegerField(
        label=_("Thời hạn (ngày làm việc)"), min_value=0, max_value=365
    )
    fee_name = forms.CharField(label=_("Tên phí, lệ phí"), max_length=200, required=False)
    fee_amount = forms.IntegerField(label=_("Mức thu (đồng)"), min_value=0, initial=0)
    documents = forms.CharField(
        label=_("Thành phần hồ sơ"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Mỗi dòng một giấy tờ; thêm “(không bắt buộc)” ở cuối nếu không bắt buộc. "
            "Hoặc dán danh sách JSON."
        ),
    )
    result_type = forms.CharField(label=_("Kết quả"), max_length=300, required=False)
    online_level = forms.ChoiceField(
        label=_("Mức trực tuyến"), choices=Procedure.OnlineLevel.choices
    )
    steps = forms.CharField(
        label=_("Các bước"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Mỗi dòng: mã bước; tỉ lệ thời gian %; tên bước; vai trò — "
            "vd. “receive; 10; Tiếp nhận; one_stop_officer”. Tổng tỉ lệ bằng 100. "
            "Hoặc dán danh sách JSON."
        ),
    )
    is_active = forms.BooleanField(label=_("Đang áp dụng"), required=False, initial=True)

    def clean_documents(self):
        try:
            return parse_documents(self.cleaned_data["documents"])
        except json.JSONDecodeError as error:
            raise forms.ValidationError(_("JSON không hợp lệ: %(e)s") % {"e": error.msg}) from error

    def clean_steps(self):
        try:
            return parse_steps(self.cleaned_data["steps"])
        except json.JSONDecodeError as error:
            raise forms.ValidationError(_("JSON không hợp lệ: %(e)s") % {"e": error.msg}) from error

    @classmethod
    def initial_for(cls, procedure: Procedure) -> dict:
        initial = {name: getattr(procedure, name) for name in cls.base_fields}
        initial["documents"] = documents_text(procedure.documents)
        initial["steps"] = steps_text(procedure.steps)
        return initial


class ImportError_(ValueError):
    """A file that cannot be read as procedures; the message names the line."""


class ProcedureImportForm(forms.Form):
    file = forms.FileField(
        label=_("Tệp CSV hoặc JSON"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.json,text/csv,application/json"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("Tệp quá lớn (tối đa 2 MB)."))
        data = upload.read()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise forms.ValidationError(_("Tệp phải được mã hoá UTF-8.")) from error
        try:
            self.is_csv = not text.lstrip().startswith(("[", "{"))
            return procedure_rows_csv(text) if self.is_csv else procedure_rows_json(text)
        except ImportError_ as error:
            raise forms.ValidationError(str(error)) from error


def procedure_rows_json(text: str) -> list[dict]:
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportError_(
            _("JSON không hợp lệ ở dòng %(line)s: %(e)s") % {"line": error.lineno, "e": error.msg}
        ) from error
    if isinstance(rows, dict):
        rows = rows.get("procedures", [])
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ImportError_(_("Tệp JSON phải là một danh sách thủ tục."))
    if not rows:
        raise ImportError_(_("Tệp không có thủ tục nào."))
    return rows


def procedure_rows_csv(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"code", "name", "processing_days"} - set(reader.fieldnames or [])
    if missing:
        raise ImportError_(
            _("Dòng 1 (tiêu đề) thiếu cột: %(cols)s.") % {"cols": ", ".join(sorted(missing))}
        )
    rows = []
    for row in reader:
        line = reader.line_num
        try:
            documents = parse_documents(row.get("documents") or "")
            steps = parse_steps(row.get("steps") or "")
        except json.JSONDecodeError as error:
            raise ImportError_(
                _("Dòng %(line)s: JSON không hợp lệ (%(e)s).") % {"line": line, "e": error.msg}
            ) from error
        active = (row.get("is_active") or "1").strip().lower() not in FALSE_WORDS
        rows.append(
            {
                **{key: (row.get(key) or "").strip() for key in CSV_COLUMNS},
                "documents": documents,
                "steps": steps,
                "is_active": active,
                "_line": line,
            }
        )
    if not rows:
        raise ImportError_(_("Tệp không có thủ tục nào."))
    return rows


def procedures_csv(procedures) -> str:
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(CSV_COLUMNS)
    for p in procedures:
        writer.writerow(
            [
                p.code,
                p.name,
                p.field,
                p.processing_days,
                p.fee_name,
                p.fee_amount,
                json.dumps(p.documents, ensure_ascii=False),
                p.result_type,
                p.online_level,
                json.dumps(p.steps, ensure_ascii=False),
                "1" if p.is_active else "0",
            ]
        )
    return output.getvalue()


def procedures_json(procedures) -> str:
    rows = [{key: getattr(p, key) for key in CSV_COLUMNS} for p in procedures]
    return json.dumps(rows, ensure_ascii=False, indent=2)


class CalendarOverrideForm(forms.Form):
    day = _date_field(_("Ngày"), required=True)
    working = forms.TypedChoiceField(
        label=_("Loại"),
        coerce=lambda value: value == "1",
        choices=[("0", _("Nghỉ (ngày nghỉ bù, nghỉ thêm)")), ("1", _("Làm việc (làm bù)"))],
    )
    note = forms.CharField(label=_("Ghi chú"), max_length=200, required=False)


class CalendarDeleteForm(forms.Form):
    day = _date_field(_("Ngày"), required=True)


class YearForm(forms.Form):
    nam = forms.IntegerField(min_value=2000, max_value=2100, required=False)

    def year(self) -> int:
        if self.is_valid() and self.cleaned_data.get("nam"):
            return self.cleaned_data["nam"]
        return datetime.date.today().year


class SigningKeyImportForm(forms.Form):
    commune = forms.ModelChoiceField(label=_("Xã"), queryset=None, to_field_name="code")
    file = forms.FileField(
        label=_("Tệp PKCS#12 (.p12, .pfx)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".p12,.pfx,application/x-pkcs12"}),
    )
    passphrase = forms.CharField(
        label=_("Mật khẩu tệp"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    label = forms.CharField(label=_("Tên gọi"), max_length=200, required=False)

    def __init__(self, *args, communes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["commune"].queryset = communes

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 200_000:
            raise forms.ValidationError(_("Tệp quá lớn."))
        return upload.read()
