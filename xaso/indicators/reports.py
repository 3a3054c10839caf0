"""A period's report for one place, as a province office files it: XLSX and PDF.

`period_report` gathers what both files (and the dashboard) show: every indicator's value for
the place, the same for each child place (villages of a commune, communes of a province), the
criteria verdicts, and the sign-off (or the note that the figures are provisional). The caller
has already checked that the user may see the place.

Numbers follow Vietnamese usage: a comma before decimals, a dot between thousands ("87,6 %",
"1.250 hộ"); dates dd/mm/yyyy.
"""

import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from xaso.indicators import closing, compute
from xaso.indicators.models import CriteriaSet, Indicator
from xaso.lib import pdf
from xaso.lib.periods import Period
from xaso.places.models import Place

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TITLE = "BÁO CÁO KẾT QUẢ CHUYỂN ĐỔI SỐ"
PROVISIONAL = "Số liệu tạm tính, chưa chốt kỳ"
ONE_DECIMAL = Decimal("0.1")


# --- numbers and verdicts ---------------------------------------------------------------------


def figure(number, unit: str = "") -> str:
    """ "87,6 %", "1.250 hộ", "—" for no value."""
    if number is None:
        return "—"
    number = Decimal(number)
    if number == number.to_integral_value():
        text = f"{int(number):,}"
    else:
        text = f"{number.quantize(ONE_DECIMAL):,}"
    text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return f"{text} {unit}" if unit else text


def verdict(value: compute.Value) -> str:
    if value.value is None and value.indicator.method == Indicator.Method.MANUAL:
        return _("Chưa nhập số liệu")
    if value.value is None and not value.applicable:
        return _("Không áp dụng")
    if value.meets_target is None:
        return "—"
    return _("Đạt") if value.meets_target else _("Chưa đạt")


def period_dates(period: Period) -> str:
    return _("từ %(start)s đến %(end)s") % {
        "start": f"{period.start:%d/%m/%Y}",
        "end": f"{period.end:%d/%m/%Y}",
    }


def place_title(place: Place) -> str:
    """ "Tỉnh Quảng Ninh", "Xã Quảng Tân": the official list names provinces bare."""
    if place.kind != Place.Kind.PROVINCE:
        return place.name
    kind = "Thành phố" if place.division_type.startswith("thành phố") else "Tỉnh"
    return f"{kind} {place.name}"


def short_name(place: Place) -> str:
    """ "Xã Quảng Tân" → "Quảng Tân", as written before a date."""
    for prefix in (place.division_type, "Xã", "Phường", "Đặc khu", "Tỉnh", "Thành phố", "Thôn"):
        if prefix and place.name.lower().startswith(prefix.lower() + " "):
            return place.name[len(prefix) + 1 :]
    return place.name


# --- the report's content ---------------------------------------------------------------------


def assessment_verdict(met: bool | None) -> str:
    if met is None:
        return _("Chưa đủ căn cứ")
    return _("Đạt") if met else _("Chưa đạt")


@dataclass
class CriteriaRow:
    name: str
    met: bool | None
    evidence: str = ""

    @property
    def verdict(self) -> str:
        return assessment_verdict(self.met)


@dataclass
class CriteriaBlock:
    """A criteria set's verdicts: for the place itself (its criteria one by one, with the
    evidence), or for each place of the set's level below it (one line each)."""

    criteria_set: CriteriaSet
    met: bool | None  # the place itself; None also when the set is for the level below
    own: bool
    rows: list[CriteriaRow]

    @property
    def verdict(self) -> str:
        return assessment_verdict(self.met)


def criteria_block(criteria_set: CriteriaSet, place: Place, assessments: list) -> CriteriaBlock:
    """From assess.Assessment rows (helper of the dashboard and the report)."""
    if len(assessments) == 1 and assessments[0].place.id == place.id:
        [assessment] = assessments
        rows = [
            CriteriaRow(
                name=result.criterion.name,
                met=result.met,
                evidence=result.evidence,
            )
            for result in assessment.results
        ]
        return CriteriaBlock(criteria_set=criteria_set, met=assessment.met, own=True, rows=rows)
    rows = []
    for assessment in assessments:
        met = sum(1 for result in assessment.results if result.met is True)
        rows.append(
            CriteriaRow(
                name=assessment.place.name,
                met=assessment.met,
                evidence=_("%(met)s/%(all)s tiêu chí đạt")
                % {"met": met, "all": len(assessment.results)},
            )
        )
    return CriteriaBlock(criteria_set=criteria_set, met=None, own=False, rows=rows)


@dataclass
class Report:
    place: Place
    period: Period
    indicators: list[Indicator]
    values: list[compute.Value]
    children: list[tuple[Place, list[compute.Value]]]
    sign_off: closing.SignOff | None
    generated_at: datetime.datetime
    criteria: list[CriteriaBlock] = field(default_factory=list)
    communes_closed: tuple[int, int] | None = None  # a province: (closed, all)

    @property
    def title(self) -> str:
        return f"{TITLE} {place_title(self.place)}".upper()

    @property
    def sign_off_line(self) -> str:
        if self.sign_off is None:
            return PROVISIONAL
        sign_off = self.sign_off
        return _(
            "Số liệu đã chốt kỳ: %(by)s, lúc %(at)s; chữ ký số của UBND %(commune)s %(state)s."
        ) % {
            "by": sign_off.closed_by,
            "at": f"{sign_off.closed_at:%H:%M %d/%m/%Y}",
            "commune": sign_off.commune.name,
            "state": _("hợp lệ ✓") if sign_off.valid else _("KHÔNG hợp lệ"),
        }

    @property
    def province_note(self) -> str:
        if self.communes_closed is None:
            return ""
        closed, total = self.communes_closed
        return _(
            "Số liệu cấp tỉnh luôn được tổng hợp trực tiếp từ dữ liệu gốc của các xã; "
            "%(closed)s/%(total)s xã đã chốt kỳ này."
        ) % {"closed": closed, "total": total}


def period_report(
    *,
    place: Place,
    period: Period,
    values: list[compute.Value],
    criteria: list[CriteriaBlock] | None = None,
) -> Report:
    """`values` are the place's own (from the scoped selector); the children's are counted here
    with the same indicators."""
    indicators = [value.indicator for value in values]
    children = []
    if place.kind != Place.Kind.VILLAGE:
        children = list(compute.values_for_children(indicators, place, period).items())
    return Report(
        place=place,
        period=period,
        indicators=indicators,
        values=values,
        children=children,
        sign_off=closing.sign_off_for(place, period),
        generated_at=timezone.localtime(),
        criteria=criteria or [],
        communes_closed=(
            closing.communes_closed(place, period) if place.kind == Place.Kind.PROVINCE else None
        ),
    )


def _heading_names(place: Place) -> tuple[str, str]:
    """(governing body, issuing unit) of the heading block."""
    if place.kind == Place.Kind.PROVINCE:
        return f"UBND {place_title(place)}", _("Ban Chỉ đạo chuyển đổi số")
    parent = place.parent
    authority = f"UBND {place_title(parent)}" if parent else ""
    body = place.name if place.kind == Place.Kind.VILLAGE else f"UBND {place.name}"
    return authority, body


def _indicator_row(number: int, value: compute.Value) -> list:
    indicator = value.indicator
    return [
        number,
        indicator.name,
        indicator.unit,
        value.numerator,
        value.denominator,
        value.value,
        value.target,
        verdict(value),
    ]


def _headers() -> list[str]:
    return [
        _("STT"),
        _("Chỉ tiêu"),
        _("Đơn vị"),
        _("Tử số"),
        _("Mẫu số"),
        _("Kết quả"),
        _("Chỉ tiêu giao"),
        _("Đánh giá"),
    ]


def _criteria_headers(block: CriteriaBlock) -> list[str]:
    if block.own:
        return [_("STT"), _("Tiêu chí"), _("Đánh giá"), _("Căn cứ")]
    return [_("STT"), _("Địa bàn"), _("Đánh giá"), _("Số tiêu chí đạt")]


def _children_heading(place: Place) -> str:
    if place.kind == Place.Kind.PROVINCE:
        return _("Kết quả theo xã, phường")
    return _("Kết quả theo thôn, tổ dân phố")


# --- XLSX -------------------------------------------------------------------------------------

_THIN = Side(style="thin", color="808080")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="E8EEEA")
_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")


def _number(cell, value: Decimal | None) -> None:
    if value is None:
        cell.value = None
        return
    cell.value = int(value) if value == value.to_integral_value() else float(value)
    cell.number_format = "#,##0" if isinstance(cell.value, int) else "#,##0.0"


def _table_header(sheet, row: int, headers: list[str]) -> None:
    for column, text in enumerate(headers, start=1):
        cell = sheet.cell(row=row, column=column, value=text)
        cell.font, cell.fill, cell.border, cell.alignment = _BOLD, _HEADER_FILL, _BOX, _WRAP


def _safe_text(text):
    """Text that a spreadsheet would run as a formula is kept as text."""
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@"):
        return "'" + text
    return text


def report_xlsx(report: Report) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Báo cáo")
    authority, body = _heading_names(report.place)
    sheet["A1"], sheet["A2"] = authority.upper(), body.upper()
    sheet["A2"].font = _BOLD
    sheet["E1"], sheet["E2"] = pdf.NATIONAL_NAME, pdf.NATIONAL_MOTTO
    sheet["E1"].font = sheet["E2"].font = _BOLD
    sheet["A4"] = report.title
    sheet["A4"].font = Font(bold=True, size=14)
    sheet["A5"] = f"{_('Kỳ báo cáo')}: {report.period.label()} ({period_dates(report.period)})"
    sheet["A6"] = f"{_('Đơn vị')}: {report.place.name}"
    sheet["A7"] = f"{_('Ngày lập')}: {report.generated_at:%d/%m/%Y}"
    row = 9
    _table_header(sheet, row, _headers())
    for number, value in enumerate(report.values, start=1):
        row += 1
        cells = _indicator_row(number, value)
        for column, content in enumerate(cells, start=1):
            cell = sheet.cell(row=row, column=column)
            cell.border = _BOX
            if column in (4, 5, 6, 7):
                _number(cell, content)
            else:
                cell.value = _safe_text(content)
                cell.alignment = _WRAP
    row += 2
    for block in report.criteria:
        title = block.criteria_set.name + (f": {block.verdict}" if block.own else "")
        sheet.cell(row=row, column=1, value=_safe_text(title)).font = _BOLD
        row += 1
        _table_header(sheet, row, _criteria_headers(block))
        for number, criterion in enumerate(block.rows, start=1):
            row += 1
            texts = [number, criterion.name, criterion.verdict]
            for column, text in enumerate([*texts, criterion.evidence], start=1):
                cell = sheet.cell(row=row, column=column, value=_safe_text(text))
                cell.border, cell.alignment = _BOX, _WRAP
        row += 2
    if report.province_note:
        sheet.cell(row=row, column=1, value=report.province_note)
        row += 1
    sheet.cell(row=row, column=1, value=report.sign_off_line).font = _BOLD
    if report.sign_off:
        sheet.cell(row=row + 1, column=1, value=f"SHA-256: {report.sign_off.close.values_sha256}")
    for column, width in enumerate((6, 48, 9, 11, 11, 11, 12, 14), start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    if report.children:
        _children_sheet(workbook.create_sheet(_("Theo đơn vị")), report)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _children_sheet(sheet, report: Report) -> None:
    sheet["A1"] = f"{_children_heading(report.place)} — {report.period.label()}"
    sheet["A1"].font = _BOLD
    headers = [_("STT"), _("Đơn vị")] + [
        f"{indicator.name} ({indicator.unit})" for indicator in report.indicators
    ]
    _table_header(sheet, 3, headers)
    for number, (child, values) in enumerate(report.children, start=1):
        row = 3 + number
        sheet.cell(row=row, column=1, value=number).border = _BOX
        sheet.cell(row=row, column=2, value=child.name).border = _BOX
        for column, value in enumerate(values, start=3):
            cell = sheet.cell(row=row, column=column)
            cell.border = _BOX
            _number(cell, value.value)
    sheet.column_dimensions["A"].width = 6
    sheet.column_dimensions["B"].width = 28
    for column in range(3, len(headers) + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 16
    sheet.freeze_panes = "C4"


# --- PDF --------------------------------------------------------------------------------------


def report_pdf(report: Report) -> bytes:
    place = report.place
    document = pdf.Document(
        font_path=settings.XASO_PDF_FONT,
        title=report.title,
        author=f"UBND {place.name}" if place.kind != Place.Kind.VILLAGE else place.name,
        footer=f"XãSố - {place.name} - {report.period.label()}",
    )
    authority, body = _heading_names(place)
    document.heading(
        pdf.Heading(
            authority=authority,
            body=body,
            number=_("Số:") + "\u00a0" * 12 + "/BC-UBND",
            place_date=pdf.place_date(short_name(place), report.generated_at.date()),
        )
    )
    document.title(
        report.title,
        f"{report.period.label()} ({period_dates(report.period)})",
    )
    document.table(
        _headers(),
        [
            [
                str(number),
                value.indicator.name,
                value.indicator.unit,
                figure(value.numerator),
                figure(value.denominator),
                figure(value.value),
                figure(value.target),
                verdict(value),
            ]
            for number, value in enumerate(report.values, start=1)
        ],
        widths=[5, 27, 8, 8, 8, 8, 8, 10],
        align=["center", "left", "center", "right", "right", "right", "right", "center"],
    )
    if report.children:
        _children_pdf(document, report)
    for block in report.criteria:
        title = block.criteria_set.name + (f": {block.verdict}" if block.own else "")
        document.paragraph(title, bold=True)
        document.table(
            _criteria_headers(block),
            [
                [str(number), row.name, row.verdict, row.evidence]
                for number, row in enumerate(block.rows, start=1)
            ],
            widths=[4, 18, 8, 17],
            align=["center", "left", "center", "left"],
        )
    if report.province_note:
        document.paragraph(report.province_note, italic=True)
    document.paragraph(report.sign_off_line, bold=True)
    sign_off = report.sign_off
    if sign_off:
        document.paragraph(f"SHA-256: {sign_off.close.values_sha256}", size=pdf.SMALL_SIZE)
    document.signatures(
        [
            pdf.Signature(
                _("Người chốt số liệu") if sign_off else _("Người lập báo cáo"),
                name=sign_off.closed_by if sign_off else "",
                note=_("Đã ký số") if sign_off and sign_off.valid else "",
            )
        ]
    )
    return document.render()


def _children_pdf(document: pdf.Document, report: Report) -> None:
    document.paragraph(_children_heading(report.place), bold=True)
    document.paragraph(
        _("Cột (n) là kết quả của chỉ tiêu số n trong bảng trên."),
        italic=True,
        size=pdf.SMALL_SIZE,
    )
    count = len(report.indicators)
    document.table(
        [_("STT"), _("Đơn vị")] + [f"({n})" for n in range(1, count + 1)],
        [
            [str(number), child.name] + [figure(value.value) for value in values]
            for number, (child, values) in enumerate(report.children, start=1)
        ],
        widths=[3, 14] + [4] * count,
        align=["center", "left"] + ["right"] * count,
        size=8,
    )
