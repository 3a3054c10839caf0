"""Incident tables for the traffic-safety committee: CSV (UTF-8 with BOM, for Excel) and XLSX.

Vietnamese headers; dates dd/mm/yyyy and times HH:MM in local time. In the XLSX, dates are real
dates shown as dd/mm/yyyy, so the committee can sort and filter them.
"""

import csv
import datetime
import io

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

KINDS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DATE_FORMAT = "dd/mm/yyyy"
# Column widths of the XLSX, in characters.
WIDTHS = (18, 12, 7, 22, 12, 18, 40, 22, 24, 10, 11, 11, 20, 12, 12, 40)


def headers() -> list[str]:
    return [
        _("Mã vụ việc"),
        _("Ngày"),
        _("Giờ"),
        _("Loại"),
        _("Mức độ"),
        _("Trạng thái"),
        _("Tiêu đề"),
        _("Địa bàn"),
        _("Camera"),
        _("Điểm đen"),
        _("Vĩ độ"),
        _("Kinh độ"),
        _("Người xử lý"),
        _("Ngày tiếp nhận"),
        _("Ngày xử lý xong"),
        _("Mô tả"),
    ]


def _local_date(moment) -> datetime.date | None:
    return timezone.localtime(moment).date() if moment else None


def incident_rows(incidents) -> list[list]:
    """One list per incident: dates as `date` objects, the rest as text or numbers."""
    rows = []
    for incident in incidents:
        opened = timezone.localtime(incident.opened_at)
        camera = incident.camera
        rows.append(
            [
                incident.public_id,
                opened.date(),
                f"{opened:%H:%M}",
                incident.get_category_display(),
                incident.get_severity_display(),
                incident.get_status_display(),
                incident.title,
                incident.place.name,
                camera.name if camera else "",
                (_("Có") if camera.is_black_spot else _("Không")) if camera else "",
                float(incident.latitude) if incident.latitude is not None else None,
                float(incident.longitude) if incident.longitude is not None else None,
                str(incident.assignee) if incident.assignee_id else "",
                _local_date(incident.acknowledged_at),
                _local_date(incident.resolved_at),
                incident.description,
            ]
        )
    return rows


def _safe(value):
    """Text that a spreadsheet would run as a formula (=, +, -, @) is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return f"{value:%d/%m/%Y}"
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def write_csv(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers())
    for row in rows:
        writer.writerow([_as_text(_safe(value)) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_xlsx(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Vụ việc")[:31]
    sheet.append(headers())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_safe(value) for value in row])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, datetime.date):
                cell.number_format = DATE_FORMAT
    for index, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write(kind: str, rows: list[list]) -> bytes:
    return write_csv(rows) if kind == "csv" else write_xlsx(rows)
