"""The one-stop shop's statistics as a workbook for the commune leader (openpyxl).

Vietnamese headers; shares as real percentages, money as whole đồng with a thousands format,
so the leader can sort, sum and chart them in Excel.
"""

import datetime
import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY = "#,##0"
PERCENT = "0.0%"


def _sheet(workbook, title: str, headers: list[str], rows: list[list], formats=None) -> None:
    sheet = workbook.create_sheet(title)
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for column, number_format in (formats or {}).items():
        for cell in sheet[column][1:]:
            cell.number_format = number_format
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = max(
            14, min(48, len(header) + 4)
        )


def _period(since: datetime.date | None, until: datetime.date | None) -> str:
    start = f"{since:%d/%m/%Y}" if since else _("đầu")
    end = f"{until:%d/%m/%Y}" if until else _("nay")
    return f"{start} – {end}"


def statistics_xlsx(figures: dict, *, since=None, until=None) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    totals = figures["totals"]
    summary = [
        [_("Kỳ báo cáo"), _period(since, until)],
        [_("Hồ sơ tiếp nhận"), totals["received"]],
        [_("Đang giải quyết"), totals["in_progress"]],
        [_("Quá hạn đang giải quyết"), totals["overdue"]],
        [_("Đã trả kết quả"), totals["returned"]],
        [_("Trước hạn"), totals["early"]],
        [_("Đúng hạn"), totals["on_time"]],
        [_("Quá hạn"), totals["late"]],
        [_("Nộp trực tuyến"), totals["online"]],
        [_("Tỉ lệ nộp trực tuyến"), figures["online_share"]],
        [_("Hồ sơ kiểm tra chuỗi chữ ký"), figures["checked"]],
        [_("Hồ sơ có mọi bước ký số hợp lệ"), figures["signed"]],
        [_("Tỉ lệ ký số đủ các bước"), figures["signed_share"]],
        [_("Số lượt đánh giá"), figures["ratings"]],
        [_("Điểm hài lòng trung bình (1–5)"), figures["rating_average"]],
    ]
    _sheet(workbook, _("Tổng hợp"), [_("Chỉ tiêu"), _("Giá trị")], summary)
    sheet = workbook[_("Tổng hợp")]
    for row in (11, 14):
        sheet.cell(row, 2).number_format = PERCENT
    _sheet(
        workbook,
        _("Theo thủ tục"),
        [_("Mã thủ tục"), _("Tên thủ tục"), _("Số hồ sơ"), _("Quá hạn")],
        [
            [row["procedure__code"], row["procedure__name"], row["count"], row["late"]]
            for row in figures["by_procedure"]
        ],
    )
    _sheet(
        workbook,
        _("Hồ sơ theo tháng"),
        [_("Tháng"), _("Số hồ sơ"), _("Trực tuyến")],
        [[row["month"], row["count"], row["online"]] for row in figures["by_month"]],
    )
    _sheet(
        workbook,
        _("Phí theo tháng"),
        [_("Tháng"), _("Số biên lai"), _("Số tiền (đồng)")],
        [[row["month"], row["count"], row["amount"]] for row in figures["fees_by_month"]],
        formats={"C": MONEY},
    )
    _sheet(
        workbook,
        _("Phí theo thủ tục"),
        [_("Mã thủ tục"), _("Tên thủ tục"), _("Số biên lai"), _("Số tiền (đồng)")],
        [
            [row["code"], row["name"], row["count"], row["amount"]]
            for row in figures["fees_by_procedure"]
        ],
        formats={"D": MONEY},
    )
    _sheet(
        workbook,
        _("QĐ 766 (ước tính)"),
        [_("Nhóm chỉ tiêu"), _("Căn cứ"), _("Tỉ lệ"), _("Điểm tối đa"), _("Điểm ước tính")],
        [
            [group["label"], group["basis"], group["share"], group["points"], group["score"]]
            for group in figures["groups"]
        ],
        formats={"C": PERCENT},
    )
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
