"""Anti-counterfeit stamp labels: A4 sheets of self-adhesive labels as a PDF, in plain Python.

Each label carries a QR code of its URL (made with segno, drawn as vector rectangles) and the
printed code, with an optional caption in Vietnamese. `render_label_sheet` takes the labels
from any iterable, a generator over 100,000 labels included, and draws them page by page:

    render_label_sheet(path, labels, layout=LAYOUTS["65"], font_path=DEFAULT_FONT_PATH)

Labels are placed row by row, left to right, from the top-left label of each sheet.
"""

import hashlib
import os
import re
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import BinaryIO

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfdoc import PDFName, PDFStream
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

# Debian's fonts-dejavu-core: covers every Vietnamese letter with its diacritics. The base 14
# PDF fonts do not, so a TrueType font is always embedded (as a subset).
DEFAULT_FONT_PATH = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

A4_WIDTH_MM = 210.0
A4_HEIGHT_MM = 297.0

# QR choices. Error correction at least M (15 % of the symbol may be lost): labels get
# scratched and wet, and H would push the usual URL up a version and shrink the modules.
# segno raises the level for free when the data still fits the same version.
QR_ERROR = "m"
# A fixed data mask. segno's evaluation of all eight masks is ~85 % of its time (2.7 ms per
# code here, 27 s for 10,000 labels); with a fixed mask a code takes 0.45 ms. Readers take the
# mask from the format information, so any mask decodes; mask 0 scored lowest of the eight for
# 73 % of 300 sampled stamp URLs. None restores segno's evaluation.
QR_MASK: int | None = 0
# Two modules of quiet zone instead of the standard four: the label around the code is blank,
# phone readers cope with two, and every module given back makes the code larger.
QR_QUIET_ZONE = 2

LABEL_PADDING_MM = 1.5  # kept blank inside each label edge: die-cut sheets shift in printers
QR_MAX_WIDTH_SHARE = 0.55  # the rest of the label's width is for the printed text
LINE_SPACING = 1.2  # line advance as a multiple of the font size
MIN_FONT_SIZE = 5.0  # pt; a caption is shortened with "…" rather than printed smaller


@dataclass(frozen=True)
class LabelLayout:
    """Geometry of one A4 label sheet, in millimetres from the top-left corner of the page."""

    name: str
    columns: int
    rows: int
    label_width_mm: float
    label_height_mm: float
    left_margin_mm: float
    top_margin_mm: float
    column_pitch_mm: float  # left edge to left edge of neighbouring labels
    row_pitch_mm: float  # top edge to top edge

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def label_box_mm(self, position: int) -> tuple[float, float, float, float]:
        """(left, top, width, height) of the label at `position` on its sheet, 0 = top left."""
        row, column = divmod(position, self.columns)
        left = self.left_margin_mm + column * self.column_pitch_mm
        top = self.top_margin_mm + row * self.row_pitch_mm
        return left, top, self.label_width_mm, self.label_height_mm


LAYOUTS: dict[str, LabelLayout] = {
    # Avery L7651 geometry: 65 labels of 38.1 × 21.2 mm, 5 × 13, rows touching, 2.5 mm gaps
    # between columns, the block centred on the page.
    "65": LabelLayout("65", 5, 13, 38.1, 21.2, 4.75, 10.7, 40.6, 21.2),
    # Avery L7160 geometry: 21 labels of 63.5 × 38.1 mm, 3 × 7, rows touching, 2.5 mm gaps.
    "21": LabelLayout("21", 3, 7, 63.5, 38.1, 7.25, 15.15, 66.0, 38.1),
}


@dataclass(frozen=True)
class Label:
    url: str  # what the QR code holds; upper case lets segno use the compact alphanumeric mode
    code: str  # printed, in groups split by spaces or hyphens: "0123 4567 89AB CDEF GHJK"
    caption: str = ""  # one short line, e.g. the product: "Na dai Quảng Tân"


# --- QR codes ------------------------------------------------------------------------------------

_DARK_RUN = re.compile(rb"\x01+")
_HYPHEN_BREAK = re.compile(r"(?<=[^-]-)(?=[^-])")  # after a hyphen between two groups


def qr_matrix(url: str) -> tuple[bytearray, ...]:
    """The QR code of `url` as rows of 0 (light) and 1 (dark), without quiet zone."""
    return segno.make(url, error=QR_ERROR, micro=False, mask=QR_MASK).matrix


def dark_runs(matrix: Sequence[bytes | bytearray]) -> list[tuple[int, int, int]]:
    """(row, first column, length) of every horizontal run of dark modules, top row first."""
    stride = len(matrix[0]) + 1  # each row plus the light byte that keeps runs from joining
    joined = b"\x00".join(matrix)
    runs = []
    for run in _DARK_RUN.finditer(joined):
        start, end = run.span()
        row, column = divmod(start, stride)
        runs.append((row, column, end - start))
    return runs


def qr_operators(
    matrix: Sequence[bytes | bytearray], *, left: float, top: float, module: float
) -> str:
    """PDF operators that fill the dark modules of `matrix`, its top-left corner at (left, top).

    One path per code: the transformation matrix scales to module units with y pointing down,
    so each run is written as small integers ("col row length 1 re"), which keeps the page
    stream short and quick to format; one fill of the whole path leaves no hairline seams
    between neighbouring rows, as separately filled rectangles do on screen.
    """
    rectangles = "\n".join(
        f"{column} {row} {length} 1 re" for row, column, length in dark_runs(matrix)
    )
    return f"q\n{module:.4f} 0 0 {-module:.4f} {left:.3f} {top:.3f} cm\n{rectangles}\nf\nQ"


# --- Text ----------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def register_font(font_path: str) -> str:
    """Register the TrueType font once per process and return its ReportLab name."""
    if not os.path.isfile(font_path):
        raise FileNotFoundError(f"Label font not found: {font_path}")
    # Named after the path, so two different files never share a registered name.
    name = "label-" + hashlib.sha1(os.path.abspath(font_path).encode()).hexdigest()[:12]
    pdfmetrics.registerFont(TTFont(name, font_path))
    return name


def wrap_groups(text: str, *, font_name: str, size: float, width: float) -> list[str]:
    """Split `text` into lines no wider than `width`, at spaces and after hyphens inside a word
    (codes are printed "0123 4567 …" or "0123-4567-…"); a group never breaks."""
    lines: list[str] = []
    for word in text.split():
        for index, group in enumerate(_HYPHEN_BREAK.split(word)):
            joiner = "" if index else " "  # a word's groups join as they were
            candidate = f"{lines[-1]}{joiner}{group}" if lines else group
            if lines and pdfmetrics.stringWidth(candidate, font_name, size) <= width:
                lines[-1] = candidate
            else:
                lines.append(group)
    return lines


@lru_cache(maxsize=256)
def fit_caption(
    caption: str, *, font_name: str, size: float, width: float
) -> tuple[tuple[str, float], ...]:
    """(text, font size) of the caption's lines, in this order of preference: one line at up to
    a fifth smaller; two lines, made smaller step by step down to MIN_FONT_SIZE; two lines at
    MIN_FONT_SIZE, the second cut short with "…".

    Cached: a batch usually prints one caption on every label.
    """
    # NFC: ReportLab does no text shaping, so a decomposed "ả" would print its mark misplaced.
    text = " ".join(unicodedata.normalize("NFC", caption).split())
    if not text:
        return ()
    natural_width = pdfmetrics.stringWidth(text, font_name, size)
    one_line_size = min(size, size * width / natural_width * 0.999)  # as in text_lines
    if one_line_size >= max(MIN_FONT_SIZE, size * 0.8):
        return ((text, one_line_size),)
    two_lines_size = size
    while two_lines_size > MIN_FONT_SIZE:
        lines = wrap_groups(text, font_name=font_name, size=two_lines_size, width=width)
        if len(lines) <= 2 and all(_fits(line, font_name, two_lines_size, width) for line in lines):
            return tuple((line, two_lines_size) for line in lines)
        two_lines_size *= 0.9
    lines = wrap_groups(text, font_name=font_name, size=MIN_FONT_SIZE, width=width)
    first, rest = lines[0], " ".join(lines[1:])
    return tuple(
        (shorten(line, font_name=font_name, size=MIN_FONT_SIZE, width=width), MIN_FONT_SIZE)
        for line in (first, rest)
        if line
    )


def _fits(text: str, font_name: str, size: float, width: float) -> bool:
    return pdfmetrics.stringWidth(text, font_name, size) <= width


def shorten(text: str, *, font_name: str, size: float, width: float) -> str:
    """`text`, cut and ended with "…" if it is wider than `width`."""
    if _fits(text, font_name, size, width):
        return text
    while text and not _fits(text + "…", font_name, size, width):
        text = text[:-1].rstrip()
    return text + "…"


@dataclass(frozen=True)
class LabelGeometry:
    """Where things go inside one label, in points from the label's top-left corner."""

    qr_box: float  # side of the square holding the QR code and its quiet zone
    padding: float
    text_left: float
    text_width: float
    text_height: float
    code_size: float  # font sizes, pt
    caption_size: float

    @classmethod
    def for_layout(cls, layout: LabelLayout) -> "LabelGeometry":
        width, height = layout.label_width_mm * mm, layout.label_height_mm * mm
        padding = LABEL_PADDING_MM * mm
        qr_box = min(height - 2 * padding, width * QR_MAX_WIDTH_SHARE)
        # Text scales with the label: 7 pt on a 21.2 mm label, at most 11 pt on larger ones.
        code_size = min(11.0, max(6.0, layout.label_height_mm * 0.33))
        return cls(
            qr_box=qr_box,
            padding=padding,
            text_left=padding + qr_box,  # the quiet zone separates code and text
            text_width=width - padding - qr_box - padding,
            text_height=height - 2 * padding,
            code_size=code_size,
            caption_size=code_size * 0.85,
        )


def text_lines(label: Label, geometry: LabelGeometry, font_name: str) -> list[tuple[str, float]]:
    """(text, font size) of each printed line: the caption, then the code in groups."""
    lines = list(
        fit_caption(
            label.caption,
            font_name=font_name,
            size=geometry.caption_size,
            width=geometry.text_width,
        )
    )
    size = geometry.code_size
    code_lines = wrap_groups(label.code, font_name=font_name, size=size, width=geometry.text_width)
    widest = max((pdfmetrics.stringWidth(line, font_name, size) for line in code_lines), default=0)
    if widest > geometry.text_width:  # a single group wider than the text column
        size *= geometry.text_width / widest * 0.999  # 0.999: no rounding past the width
    lines.extend((line, size) for line in code_lines)
    return _shrink_to_height(lines, geometry.text_height)


def _shrink_to_height(lines: list[tuple[str, float]], height: float) -> list[tuple[str, float]]:
    needed = sum(size * LINE_SPACING for _text, size in lines)
    if needed <= height:
        return lines
    scale = height / needed
    return [(text, size * scale) for text, size in lines]


# --- Sheets --------------------------------------------------------------------------------------


def render_label_sheet(
    path: str | os.PathLike[str] | BinaryIO,
    labels: Iterable[Label],
    *,
    layout: LabelLayout,
    font_path: str,
    title: str = "",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write `labels` to an A4 PDF at `path`; return how many were written.

    Labels are taken from the iterable one sheet at a time, and `progress(labels_done)` is
    called after each sheet. No labels gives one blank page and progress(0): a PDF without
    pages is refused by several readers. `title` goes in the document's properties only; a
    label sheet has no room to print it.
    """
    font_name = register_font(font_path)
    geometry = LabelGeometry.for_layout(layout)
    canvas = Canvas(os.fspath(path) if isinstance(path, os.PathLike) else path, pagesize=A4)
    canvas.setTitle(title)
    canvas.setCreator("XãSố")
    remaining = iter(labels)
    written = 0
    while page := list(islice(remaining, layout.per_page)):
        for position, label in enumerate(page):
            draw_label(canvas, label, layout.label_box_mm(position), geometry, font_name)
        canvas.showPage()
        compress_finished_page(canvas)
        written += len(page)
        if progress:
            progress(written)
    if not written:
        canvas.showPage()
        if progress:
            progress(0)
    canvas.save()
    return written


def compress_finished_page(canvas: Canvas) -> None:
    """Compress the content of the page just finished now rather than at save().

    ReportLab keeps every page's content as text until save(): about 3 kB per label, which
    took 100,000 labels to a 396 MB peak; compressed page by page, 95 MB. This reaches into
    ReportLab's document (`_doc`, `PDFPage.stream`, as in reportlab 5.1); the tests read every
    page back, so a ReportLab that works otherwise fails them rather than print blank sheets.
    """
    page = canvas._doc.Pages.pages[-1]
    # What PDFPage.check_format would build at save(), minus ReportLab's ASCII85 step, which
    # only makes the file a quarter larger.
    stream = PDFStream(content=zlib.compress(page.stream.encode("utf-8")))
    stream.dictionary["Filter"] = PDFName("FlateDecode")
    page.Contents = stream
    page.stream = None


def draw_label(
    canvas: Canvas,
    label: Label,
    box_mm: tuple[float, float, float, float],
    geometry: LabelGeometry,
    font_name: str,
) -> None:
    left_mm, top_mm, _width_mm, height_mm = box_mm
    left = left_mm * mm
    top = (A4_HEIGHT_MM - top_mm) * mm  # PDF y grows upwards from the bottom of the page
    matrix = qr_matrix(label.url)
    module = geometry.qr_box / (len(matrix) + 2 * QR_QUIET_ZONE)
    quiet = QR_QUIET_ZONE * module
    # The code sits in the middle of the label's height, the box flush with its left padding.
    qr_top = top - (height_mm * mm - geometry.qr_box) / 2
    canvas.addLiteral(
        qr_operators(
            matrix, left=left + geometry.padding + quiet, top=qr_top - quiet, module=module
        )
    )
    draw_text(
        canvas,
        text_lines(label, geometry, font_name),
        font_name,
        left=left + geometry.text_left,
        middle=top - height_mm * mm / 2,
    )


def draw_text(
    canvas: Canvas, lines: list[tuple[str, float]], font_name: str, *, left: float, middle: float
) -> None:
    """Draw the lines as one block centred vertically on `middle`."""
    if not lines:
        return
    height = sum(size * LINE_SPACING for _text, size in lines)
    line_top = middle + height / 2
    text = canvas.beginText()
    for line, size in lines:
        ascent, descent = pdfmetrics.getAscentDescent(font_name, size)
        # Centre the glyphs' ascent-to-descent band inside the line's advance.
        baseline = line_top - (size * LINE_SPACING - (ascent - descent)) / 2 - ascent
        text.setFont(font_name, size)
        text.setTextOrigin(left, baseline)
        text.textOut(line)
        line_top -= size * LINE_SPACING
    canvas.drawText(text)
