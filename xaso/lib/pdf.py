"""Layout helpers for every PDF XãSố issues: A4 pages in the style of a Vietnamese
administrative document (Decree 30/2020 on official documents), built with ReportLab.

    doc = Document(font_path=FONT, title="Giấy tiếp nhận hồ sơ", form_label="Mẫu số 01")
    doc.heading(Heading(authority="UBND XÃ QUẢNG TÂN", body="TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",
                        number="Số: 06913-250701-0001", place_date=place_date("Quảng Tân", day)))
    doc.title("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ")
    doc.fields([("Mã hồ sơ", code), ("Người nộp", name)])
    doc.table(["STT", "Tên giấy tờ"], [["1", "Tờ khai"]], widths=[1, 9])
    doc.qr(url, ["Quét mã để tra cứu"])
    doc.signatures([Signature("NGƯỜI NỘP HỒ SƠ"), Signature("NGƯỜI TIẾP NHẬN", name="Lan")])
    data = doc.render()

Every text argument is plain text (escaped here, NFC-normalised: ReportLab does no shaping);
only `paragraph(..., markup=True)` takes ReportLab's mini-markup. A TrueType font is embedded
(DejaVu covers every Vietnamese letter); its bold and italic faces are the files next to it
(`DejaVuSans-Bold.ttf`, …) when they exist, else the regular face stands in. QR codes are
vector paths from segno (`labels.qr_matrix`), sharp at any print resolution. No Django here.
"""

import datetime
import hashlib
import io
import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from xaso.lib.labels import QR_QUIET_ZONE, qr_matrix, qr_operators

NATIONAL_NAME = "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"
NATIONAL_MOTTO = "Độc lập - Tự do - Hạnh phúc"
# Margins of an administrative document (Decree 30/2020, annex I): top and bottom 20-25 mm,
# left 30-35 mm, right 15-20 mm.
MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
BASE_SIZE = 12.0  # pt; forms are read by people of every age
SMALL_SIZE = 10.0
TABLE_SIZE = 9.5
GRID = colors.Color(0.35, 0.35, 0.35)
HEADER_FILL = colors.Color(0.92, 0.92, 0.92)
ALIGN = {"left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT, "justify": TA_JUSTIFY}
# Faces next to the regular file, by the naming of the DejaVu (Sans / Serif) families.
FACE_SUFFIXES = {
    "bold": ("-Bold",),
    "italic": ("-Oblique", "-Italic"),
    "bolditalic": ("-BoldOblique", "-BoldItalic"),
}


# --- Text ---------------------------------------------------------------------------------------
def clean(text) -> str:
    """Plain text as one NFC string (None → "")."""
    return unicodedata.normalize("NFC", "" if text is None else str(text))


def plain(text) -> str:
    """Plain text made safe for a Paragraph: escaped, line breaks kept."""
    return "<br/>".join(escape(line) for line in clean(text).split("\n"))


def format_date(day: datetime.date | None) -> str:
    """dd/mm/yyyy, or "" for no date."""
    return f"{day:%d/%m/%Y}" if day else ""


def format_datetime(moment: datetime.datetime | None) -> str:
    """HH:MM dd/mm/yyyy of a moment already in local time, or ""."""
    return f"{moment:%H:%M %d/%m/%Y}" if moment else ""


def place_date(place: str, day: datetime.date) -> str:
    """ "Quảng Tân, ngày 05 tháng 7 năm 2025": days below 10 and months 1 and 2 take a leading
    zero (Decree 30/2020, annex I), other months do not."""
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"{clean(place)}, ngày {day.day:02d} tháng {month} năm {day.year}"


# --- Fonts --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    italic: str
    bolditalic: str


def _register(path: str) -> str:
    name = "xaso-" + hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:12]
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, path))
    return name


@lru_cache(maxsize=8)
def register_fonts(font_path: str) -> Fonts:
    """Register the regular face and its siblings once per process, as one family."""
    if not os.path.isfile(font_path):
        raise FileNotFoundError(f"PDF font not found: {font_path}")
    stem, extension = os.path.splitext(font_path)
    regular = _register(font_path)
    faces = {}
    for face, suffixes in FACE_SUFFIXES.items():
        sibling = next(
            (stem + s + extension for s in suffixes if os.path.isfile(stem + s + extension)), ""
        )
        faces[face] = _register(sibling) if sibling else regular
    if faces["bolditalic"] == regular:
        faces["bolditalic"] = faces["bold"]
    pdfmetrics.registerFontFamily(
        regular,
        normal=regular,
        bold=faces["bold"],
        italic=faces["italic"],
        boldItalic=faces["bolditalic"],
    )
    return Fonts(regular=regular, **faces)


# --- Flowables ----------------------------------------------------------------------------------
class Rule(Flowable):
    """A short horizontal line, centred: the stroke under a heading."""

    def __init__(self, width: float, *, thickness: float = 0.6) -> None:
        super().__init__()
        self.rule_width, self.thickness = width, thickness

    def wrap(self, available_width, available_height):
        self.available_width = available_width
        return available_width, 4

    def draw(self) -> None:
        left = (self.available_width - self.rule_width) / 2
        self.canv.setLineWidth(self.thickness)
        self.canv.line(left, 1, left + self.rule_width, 1)


class QrCode(Flowable):
    """A QR code of `data` as one vector path, `size` points square with its quiet zone."""

    def __init__(self, data: str, size: float) -> None:
        super().__init__()
        self.data, self.size = data, size
        self.matrix = qr_matrix(data)

    def wrap(self, available_width, available_height):
        return self.size, self.size

    def draw(self) -> None:
        module = self.size / (len(self.matrix) + 2 * QR_QUIET_ZONE)
        quiet = QR_QUIET_ZONE * module
        operators = qr_operators(self.matrix, left=quiet, top=self.size - quiet, module=module)
        self.canv.addLiteral(f"q 0 g\n{operators}\nQ")


@dataclass(frozen=True)
class Heading:
    """The two top blocks: the issuing body on the left, the national heading on the right."""

    authority: str  # the governing body, e.g. "UBND XÃ QUẢNG TÂN"
    body: str  # the issuing unit, bold, e.g. "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG"
    number: str = ""  # "Số: …"
    place_date: str = ""  # "Quảng Tân, ngày 05 tháng 7 năm 2025"


@dataclass(frozen=True)
class Signature:
    """One signature block: the role in bold, a hint in italics, room to sign, the name."""

    role: str
    hint: str = "(Ký, ghi rõ họ tên)"
    name: str = ""
    note: str = ""  # printed in the signing room, e.g. "Đã ký số"


class Document:
    """An A4 document built top to bottom; `render()` gives the PDF's bytes."""

    def __init__(
        self,
        *,
        font_path: str,
        title: str,
        form_label: str = "",
        landscape_page: bool = False,
        footer: str = "",
        author: str = "XãSố",
    ) -> None:
        self.fonts = register_fonts(font_path)
        self.title_text, self.author, self.footer = clean(title), clean(author), clean(footer)
        self.pagesize = landscape(A4) if landscape_page else A4
        self.width = self.pagesize[0] - (MARGINS_MM["left"] + MARGINS_MM["right"]) * mm
        self.story: list[Flowable] = []
        if form_label:
            self.story.append(Paragraph(f"<i>{plain(form_label)}</i>", self.style(align="right")))

    # Styles
    def style(
        self,
        *,
        size: float = BASE_SIZE,
        align: str = "left",
        bold: bool = False,
        italic: bool = False,
        space_after: float = 0,
        leading: float | None = None,
    ) -> ParagraphStyle:
        font = {
            (False, False): self.fonts.regular,
            (True, False): self.fonts.bold,
            (False, True): self.fonts.italic,
            (True, True): self.fonts.bolditalic,
        }[(bold, italic)]
        return ParagraphStyle(
            f"s{size}{align}{bold}{italic}{space_after}",
            fontName=font,
            fontSize=size,
            leading=leading or size * 1.3,
            alignment=ALIGN[align],
            spaceAfter=space_after,
        )

    def text(self, value, **style) -> Paragraph:
        """A Paragraph of plain text, for use in a custom table cell."""
        return Paragraph(plain(value), self.style(**style))

    # Blocks
    def heading(self, heading: Heading) -> None:
        left_width, right_width = self.width * 0.42, self.width * 0.58
        small = BASE_SIZE - 0.5
        left = [
            self.text(heading.authority.upper(), size=small, align="center"),
            self.text(heading.body.upper(), size=small, align="center", bold=True),
            Rule(left_width * 0.35),
        ]
        if heading.number:
            left += [Spacer(1, 2 * mm), self.text(heading.number, size=small, align="center")]
        right = [
            self.text(NATIONAL_NAME, size=small, align="center", bold=True),
            self.text(NATIONAL_MOTTO, size=BASE_SIZE, align="center", bold=True),
            Rule(pdfmetrics.stringWidth(NATIONAL_MOTTO, self.fonts.bold, BASE_SIZE)),
        ]
        if heading.place_date:
            right += [
                Spacer(1, 2 * mm),
                self.text(heading.place_date, size=small, align="center", italic=True),
            ]
        table = Table([[left, right]], colWidths=[left_width, right_width])
        table.setStyle(_plain_table())
        self.story += [table, Spacer(1, 6 * mm)]

    def title(self, text: str, subtitle: str = "") -> None:
        self.story.append(
            self.text(text.upper(), size=BASE_SIZE + 2, align="center", bold=True, space_after=2)
        )
        if subtitle:
            self.story.append(self.text(subtitle, align="center", italic=True))
        self.story.append(Spacer(1, 5 * mm))

    def paragraph(
        self,
        text: str,
        *,
        bold: bool = False,
        italic: bool = False,
        align: str = "justify",
        size: float = BASE_SIZE,
        markup: bool = False,
    ) -> None:
        body = clean(text) if markup else plain(text)
        self.story.append(
            Paragraph(
                body, self.style(size=size, align=align, bold=bold, italic=italic, space_after=4)
            )
        )

    def fields(self, rows: Sequence[tuple[str, str]], *, label_share: float = 0.38) -> None:
        """Label: value lines, the values aligned in a column."""
        if not rows:
            return
        data = [
            [self.text(f"{label}:", bold=True), self.text(value or "")] for label, value in rows
        ]
        table = Table(data, colWidths=[self.width * label_share, self.width * (1 - label_share)])
        table.setStyle(_plain_table(padding=1.5))
        self.story += [table, Spacer(1, 3 * mm)]

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence],
        *,
        widths: Sequence[float],
        align: Sequence[str] | None = None,
        size: float = TABLE_SIZE,
    ) -> None:
        """A ruled table; `widths` are relative, the header repeats on every page. A cell may be
        plain text or a Flowable (e.g. `text(..., bold=True)`)."""
        align = list(align or ["left"] * len(header))
        total = sum(widths)
        header_cells = [self.text(h, size=size, align="center", bold=True) for h in header]
        body = [
            [
                cell
                if isinstance(cell, Flowable)
                else self.text(cell if cell is not None else "", size=size, align=align[i])
                for i, cell in enumerate(row)
            ]
            for row in rows
        ]
        table = Table(
            [header_cells, *body],
            colWidths=[self.width * w / total for w in widths],
            repeatRows=1,
        )
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, GRID),
                    ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TOPPADDING", (0, 0), (-1, -1), 2),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                    ("LEFTPADDING", (0, 0), (-1, -1), 3),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ]
            )
        )
        self.story += [table, Spacer(1, 4 * mm)]

    def qr(self, data: str, lines: Sequence[str], *, size_mm: float = 30) -> None:
        """A QR code with a few lines of text beside it."""
        size = size_mm * mm
        text = [self.text(line, size=SMALL_SIZE) for line in lines]
        table = Table([[QrCode(data, size), text]], colWidths=[size + 3 * mm, None])
        table.setStyle(_plain_table(valign="MIDDLE"))
        self.story += [KeepTogether([table]), Spacer(1, 3 * mm)]

    def signatures(self, blocks: Sequence[Signature], *, room_mm: float = 22) -> None:
        """Signature blocks side by side, kept on one page."""
        if not blocks:
            return
        cells = []
        for block in blocks:
            cell = [self.text(block.role.upper(), align="center", bold=True)]
            if block.hint:
                cell.append(self.text(block.hint, size=SMALL_SIZE, align="center", italic=True))
            cell.append(Spacer(1, room_mm * mm / 2))
            if block.note:
                cell.append(self.text(block.note, size=SMALL_SIZE, align="center", italic=True))
            cell.append(Spacer(1, room_mm * mm / 2))
            if block.name:
                cell.append(self.text(block.name, align="center", bold=True))
            cells.append(cell)
        # One block sits on the right, as the signer's block does in an official document.
        if len(cells) == 1:
            cells.insert(0, "")
        table = Table([cells], colWidths=[self.width / len(cells)] * len(cells))
        table.setStyle(_plain_table())
        self.story += [Spacer(1, 4 * mm), KeepTogether([table])]

    def spacer(self, height_mm: float) -> None:
        self.story.append(Spacer(1, height_mm * mm))

    def page_break(self) -> None:
        self.story.append(PageBreak())

    def add(self, flowable: Flowable) -> None:
        self.story.append(flowable)

    def render(self) -> bytes:
        buffer = io.BytesIO()
        document = SimpleDocTemplate(
            buffer,
            pagesize=self.pagesize,
            leftMargin=MARGINS_MM["left"] * mm,
            rightMargin=MARGINS_MM["right"] * mm,
            topMargin=MARGINS_MM["top"] * mm,
            bottomMargin=MARGINS_MM["bottom"] * mm,
            title=self.title_text,
            author=self.author,
            creator="XãSố",
            lang="vi",
        )
        document.build(self.story, onFirstPage=self._page, onLaterPages=self._page)
        return buffer.getvalue()

    def _page(self, canvas, document) -> None:
        canvas.saveState()
        canvas.setFont(self.fonts.regular, 8)
        bottom = MARGINS_MM["bottom"] * mm / 2
        if self.footer:
            canvas.drawString(MARGINS_MM["left"] * mm, bottom, self.footer)
        canvas.drawRightString(
            self.pagesize[0] - MARGINS_MM["right"] * mm, bottom, f"Trang {document.page}"
        )
        canvas.restoreState()


def _plain_table(*, padding: float = 0, valign: str = "TOP") -> TableStyle:
    return TableStyle(
        [
            ("VALIGN", (0, 0), (-1, -1), valign),
            ("LEFTPADDING", (0, 0), (-1, -1), padding),
            ("RIGHTPADDING", (0, 0), (-1, -1), padding),
            ("TOPPADDING", (0, 0), (-1, -1), padding),
            ("BOTTOMPADDING", (0, 0), (-1, -1), padding),
        ]
    )
