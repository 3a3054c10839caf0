"""Forms of the indicator and criteria pages. They parse and offer choices; the rules (which
filters a source accepts, targets, closed periods) live in actions.py and sources.py, whose
Vietnamese refusals land on the matching field."""

from django import forms
from django.utils.translation import gettext_lazy as _

from xaso.indicators.models import CriteriaSet, Criterion, Indicator
from xaso.indicators.sources import SOURCES
from xaso.places.models import Place
from xaso.survey.checklist import ALL_ITEMS

TARGET_KINDS = [
    ("village", _("Chỉ tiêu cấp thôn")),
    ("commune", _("Chỉ tiêu cấp xã")),
    ("province", _("Chỉ tiêu cấp tỉnh")),
]
YES, NO = "1", "0"

# Every filter a source may take, as "key:value" tokens; sources.check_spec says which source
# accepts which, so a filter the chosen source lacks is refused with the reason.
FILTER_CHOICES = [
    (
        _("Độ tuổi (nhân khẩu)"),
        [(f"adult:{YES}", _("Từ 15 tuổi trở lên")), (f"adult:{NO}", _("Dưới 15 tuổi"))],
    ),
    (
        _("Mục phiếu khảo sát đã có (nhân khẩu, hộ đã khảo sát)"),
        [(f"has:{code}", label) for code, label in ALL_ITEMS.items()],
    ),
    (
        _("Hồ sơ"),
        [
            ("channel:online", _("Nộp trực tuyến")),
            ("channel:counter", _("Nộp tại quầy")),
            ("channel:post", _("Nộp qua bưu chính")),
            (f"in_time:{YES}", _("Giải quyết đúng hạn hoặc trước hạn")),
            (f"in_time:{NO}", _("Giải quyết quá hạn")),
            (f"finished:{YES}", _("Đã có kết quả")),
        ],
    ),
    (
        _("Camera"),
        [
            (f"black_spot:{YES}", _("Tại điểm đen, ngã ba, ngã tư")),
            (f"active:{YES}", _("Đang sử dụng")),
        ],
    ),
]
BOOLEAN_FILTERS = {"adult", "in_time", "finished", "black_spot", "active"}


def _number_field(label, **kwargs) -> forms.CharField:
    """A number as typed ("87,5" or "87.5"); actions.number_parse reads and checks it."""
    return forms.CharField(
        label=label,
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        **kwargs,
    )


def _source_choices():
    return [("", _("— không dùng —"))] + [(code, source.label) for code, source in SOURCES.items()]


def spec_tokens(spec: dict) -> list[str]:
    """{"source": …, "filter": {"adult": true}} → ["adult:1"] (a form's initial filters)."""
    tokens = []
    for key, value in (spec.get("filter") or {}).items():
        if key in BOOLEAN_FILTERS:
            value = YES if value else NO
        tokens.append(f"{key}:{value}")
    return tokens


def spec_from(source: str, tokens: list[str]) -> tuple[dict, str]:
    """The spec a source and filter tokens make, and an error if a filter is chosen twice."""
    if not source:
        return {}, ""
    spec_filter: dict = {}
    for token in tokens:
        key, _sep, value = token.partition(":")
        if key in spec_filter:
            return {}, str(_("Mỗi bộ lọc chỉ chọn một giá trị."))
        spec_filter[key] = (value == YES) if key in BOOLEAN_FILTERS else value
    return {"source": source, "filter": spec_filter}, ""


class IndicatorForm(forms.Form):
    code = forms.SlugField(
        label=_("Mã"), max_length=60, help_text=_("chữ thường không dấu, số, gạch ngang")
    )
    name = forms.CharField(label=_("Tên chỉ tiêu"), max_length=255)
    unit = forms.CharField(label=_("Đơn vị"), max_length=30, initial="%")
    method = forms.ChoiceField(label=_("Cách tính"), choices=Indicator.Method.choices)
    numerator = forms.ChoiceField(label=_("Tử số: đếm"), required=False)
    numerator_filter = forms.MultipleChoiceField(
        label=_("Tử số: chỉ đếm"),
        required=False,
        choices=FILTER_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    denominator = forms.ChoiceField(
        label=_("Mẫu số: đếm"), required=False, help_text=_("chỉ dùng cho tỷ lệ")
    )
    denominator_filter = forms.MultipleChoiceField(
        label=_("Mẫu số: chỉ đếm"),
        required=False,
        choices=FILTER_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    period_kind = forms.ChoiceField(label=_("Kỳ báo cáo"), choices=Indicator.PeriodKind.choices)
    target_village = _number_field(_("Chỉ tiêu cấp thôn"))
    target_commune = _number_field(_("Chỉ tiêu cấp xã"))
    target_province = _number_field(_("Chỉ tiêu cấp tỉnh"))
    higher_is_better = forms.BooleanField(
        label=_("Càng cao càng tốt"), required=False, initial=True
    )
    source_note = forms.CharField(label=_("Nguồn số liệu"), max_length=255, required=False)
    description = forms.CharField(
        label=_("Mô tả, cách tính"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    published = forms.BooleanField(label=_("Công bố dữ liệu mở"), required=False)
    position = forms.IntegerField(label=_("Thứ tự"), min_value=0, initial=0, required=False)

    def __init__(self, *args, indicator: Indicator | None = None, **kwargs):
        if indicator is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(indicator)
        super().__init__(*args, **kwargs)
        self.fields["numerator"].choices = _source_choices()
        self.fields["denominator"].choices = _source_choices()
        if indicator is not None:
            self.fields["code"].disabled = True

    @staticmethod
    def initial_for(indicator: Indicator) -> dict:
        initial = {
            field: getattr(indicator, field)
            for field in (
                "code",
                "name",
                "unit",
                "method",
                "period_kind",
                "higher_is_better",
                "source_note",
                "description",
                "published",
                "position",
            )
        }
        for part in ("numerator", "denominator"):
            spec = getattr(indicator, part) or {}
            initial[part] = spec.get("source", "")
            initial[f"{part}_filter"] = spec_tokens(spec)
        for kind, _label in TARGET_KINDS:
            target = indicator.targets.get(kind)
            initial[f"target_{kind}"] = "" if target is None else str(target).replace(".", ",")
        return initial

    def clean(self):
        data = super().clean()
        for part in ("numerator", "denominator"):
            # The chosen source becomes the whole spec; the action checks it against SOURCES.
            spec, error = spec_from(data.get(part, ""), data.get(f"{part}_filter", []))
            if error:
                self.add_error(f"{part}_filter", error)
            data[part] = spec
        return data

    def values(self) -> dict:
        data = self.cleaned_data
        targets = {
            kind: data[f"target_{kind}"].strip()
            for kind, _label in TARGET_KINDS
            if data.get(f"target_{kind}", "").strip()
        }
        return {
            "code": data.get("code", ""),
            "name": data["name"],
            "unit": data["unit"],
            "method": data["method"],
            "numerator": data["numerator"],
            "denominator": data["denominator"],
            "period_kind": data["period_kind"],
            "targets": targets,
            "higher_is_better": data["higher_is_better"],
            "source_note": data["source_note"],
            "description": data["description"],
            "published": data["published"],
            "position": data.get("position") or 0,
        }


class CriteriaSetForm(forms.Form):
    code = forms.SlugField(label=_("Mã"), max_length=60)
    name = forms.CharField(label=_("Tên bộ tiêu chí"), max_length=255)
    place_kind = forms.ChoiceField(
        label=_("Áp dụng cho"),
        choices=[(Place.Kind.VILLAGE, _("Thôn")), (Place.Kind.COMMUNE, _("Xã"))],
    )
    province = forms.ModelChoiceField(
        label=_("Tỉnh ban hành"),
        queryset=Place.objects.none(),
        to_field_name="code",
        required=False,
        empty_label=_("— toàn quốc —"),
    )
    legal_basis = forms.CharField(label=_("Căn cứ"), max_length=255, required=False)

    def __init__(self, *args, provinces, criteria_set: CriteriaSet | None = None, **kwargs):
        if criteria_set is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "code": criteria_set.code,
                "name": criteria_set.name,
                "place_kind": criteria_set.place_kind,
                "province": criteria_set.province,
                "legal_basis": criteria_set.legal_basis,
            }
        super().__init__(*args, **kwargs)
        self.fields["province"].queryset = provinces
        if criteria_set is not None:
            self.fields["code"].disabled = True


class CriterionForm(forms.Form):
    code = forms.CharField(label=_("Mã tiêu chí"), max_length=30)
    name = forms.CharField(label=_("Tiêu chí"), max_length=255)
    kind = forms.ChoiceField(label=_("Loại"), choices=Criterion.Kind.choices)
    indicator = forms.ModelChoiceField(
        label=_("Chỉ tiêu (loại ngưỡng)"),
        queryset=Indicator.objects.order_by("position", "code"),
        to_field_name="code",
        required=False,
    )
    threshold = _number_field(
        _("Ngưỡng"),
        help_text=_("để trống: dùng chỉ tiêu của chỉ số theo cấp; loại thôn đạt: số thôn"),
    )
    child_set = forms.ModelChoiceField(
        label=_("Bộ tiêu chí thôn (loại số thôn đạt)"),
        queryset=CriteriaSet.objects.filter(place_kind=Place.Kind.VILLAGE),
        to_field_name="code",
        required=False,
    )
    position = forms.IntegerField(label=_("Thứ tự"), min_value=0, required=False, initial=0)

    def __init__(self, *args, criterion: Criterion | None = None, **kwargs):
        if criterion is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "code": criterion.code,
                "name": criterion.name,
                "kind": criterion.kind,
                "indicator": criterion.indicator,
                "threshold": _plain(criterion.threshold),
                "child_set": criterion.child_set,
                "position": criterion.position,
            }
        super().__init__(*args, **kwargs)

    def values(self) -> dict:
        return self.cleaned_data | {"position": self.cleaned_data.get("position") or 0}


def _plain(number) -> str:
    if number is None:
        return ""
    return f"{number.normalize():f}".replace(".", ",")


class ManualValueForm(forms.Form):
    indicator = forms.ModelChoiceField(
        label=_("Chỉ tiêu nhập tay"), queryset=Indicator.objects.none(), to_field_name="code"
    )
    place = forms.ModelChoiceField(
        label=_("Địa bàn"), queryset=Place.objects.none(), to_field_name="code"
    )
    period = forms.CharField(
        label=_("Kỳ báo cáo"), max_length=10, help_text=_("YYYY-MM, YYYY-Qn hoặc YYYY")
    )
    value = forms.CharField(
        label=_("Giá trị"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    numerator = forms.CharField(
        label=_("Tử số (nếu có)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    denominator = forms.CharField(
        label=_("Mẫu số (nếu có)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    source = forms.CharField(
        label=_("Nguồn số liệu"),
        max_length=255,
        help_text=_("ví dụ: Báo cáo của VNPT gửi UBND xã ngày …"),
    )

    def __init__(self, *args, places, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["indicator"].queryset = Indicator.objects.filter(
            method=Indicator.Method.MANUAL
        ).order_by("position", "code")
        self.fields["place"].queryset = places


class FactForm(forms.Form):
    criterion = forms.ChoiceField(label=_("Tiêu chí"))
    place = forms.ModelChoiceField(
        label=_("Địa bàn"), queryset=Place.objects.none(), to_field_name="code"
    )
    met = forms.TypedChoiceField(
        label=_("Kết quả"),
        choices=[(YES, _("Đạt")), (NO, _("Chưa đạt"))],
        coerce=lambda value: value == YES,
        widget=forms.RadioSelect,
    )
    evidence = forms.CharField(
        label=_("Minh chứng"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("số quyết định, biên bản, đường dẫn, ảnh chụp lưu ở đâu…"),
    )

    def __init__(self, *args, places, criteria, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["place"].queryset = places
        self.criteria = {f"{c.criteria_set.code}/{c.code}": c for c in criteria}
        grouped: dict[str, list] = {}
        for key, criterion in self.criteria.items():
            grouped.setdefault(criterion.criteria_set.name, []).append((key, criterion.name))
        self.fields["criterion"].choices = list(grouped.items())

    def chosen_criterion(self) -> Criterion:
        return self.criteria[self.cleaned_data["criterion"]]
