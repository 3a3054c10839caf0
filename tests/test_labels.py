"""Stamp label sheets (xaso/lib/labels.py): pure functions and PDFs read back with pypdf."""

import itertools
import math
import re
import unicodedata
from collections.abc import Iterator

import pytest
import segno
from pypdf import PdfReader
from reportlab.lib.units import mm

from xaso.lib.labels import (
    A4_HEIGHT_MM,
    A4_WIDTH_MM,
    DEFAULT_FONT_PATH,
    LAYOUTS,
    QR_ERROR,
    QR_MASK,
    QR_QUIET_ZONE,
    Label,
    LabelGeometry,
    dark_runs,
    qr_matrix,
    register_font,
    render_label_sheet,
    text_lines,
    wrap_groups,
)

CAPTION = "Na dai Quảng Tân"
URL_STEM = "HTTPS://XA.EXAMPLE.VN/S/"


def make_label(index: int, caption: str = CAPTION) -> Label:
    compact = f"{index:05d}A1B2C3D4E5F6G7H"  # 20 characters, unique per index
    grouped = " ".join(compact[start : start + 4] for start in range(0, 20, 4))
    return Label(url=URL_STEM + compact, code=grouped, caption=caption)


def make_labels(count: int) -> list[Label]:
    return [make_label(index) for index in range(count)]


def render(tmp_path, labels, layout_name: str = "65", **options) -> tuple[int, PdfReader]:
    path = tmp_path / "labels.pdf"
    written = render_label_sheet(
        path, labels, layout=LAYOUTS[layout_name], font_path=DEFAULT_FONT_PATH, **options
    )
    return written, PdfReader(path)


def page_words(reader: PdfReader, page: int) -> str:
    """The page's text with every run of whitespace made one space."""
    return " ".join(reader.pages[page].extract_text().split())


# --- Layouts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_every_label_of_a_layout_lies_inside_the_a4_page(name):
    layout = LAYOUTS[name]
    for position in range(layout.per_page):
        left, top, width, height = layout.label_box_mm(position)
        assert left >= 0 and top >= 0, (name, position)
        assert left + width <= A4_WIDTH_MM and top + height <= A4_HEIGHT_MM, (name, position)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_no_two_labels_of_a_layout_overlap(name):
    layout = LAYOUTS[name]
    boxes = [layout.label_box_mm(position) for position in range(layout.per_page)]
    for first, second in itertools.combinations(boxes, 2):
        (left1, top1, width1, height1), (left2, top2, width2, height2) = first, second
        apart_across = left1 + width1 <= left2 + 1e-9 or left2 + width2 <= left1 + 1e-9
        apart_down = top1 + height1 <= top2 + 1e-9 or top2 + height2 <= top1 + 1e-9
        assert apart_across or apart_down, (name, first, second)


def test_the_layouts_have_the_sizes_of_the_common_a4_sheets():
    small, large = LAYOUTS["65"], LAYOUTS["21"]
    assert (small.per_page, small.label_width_mm, small.label_height_mm) == (65, 38.1, 21.2)
    assert (large.per_page, large.label_width_mm, large.label_height_mm) == (21, 63.5, 38.1)


# --- QR codes ------------------------------------------------------------------------------------


def matrix_from_runs(runs: list[tuple[int, int, int]], size: int) -> list[list[int]]:
    matrix = [[0] * size for _ in range(size)]
    for row, column, length in runs:
        for offset in range(length):
            assert matrix[row][column + offset] == 0, "runs overlap"
            matrix[row][column + offset] = 1
    return matrix


def test_dark_runs_of_a_known_matrix():
    matrix = [
        bytes([1, 1, 0, 1]),
        bytes([0, 0, 0, 0]),
        bytes([1, 1, 1, 1]),
        bytes([0, 1, 1, 0]),
    ]
    # A run never continues from the end of one row into the start of the next.
    assert dark_runs(matrix) == [(0, 0, 2), (0, 3, 1), (2, 0, 4), (3, 1, 2)]


def test_dark_runs_reproduce_every_dark_module_of_a_segno_matrix():
    matrix = qr_matrix(make_label(7).url)
    assert set(b"".join(matrix)) == {0, 1}
    rebuilt = matrix_from_runs(dark_runs(matrix), len(matrix))
    assert rebuilt == [list(row) for row in matrix]


def test_the_qr_code_is_segnos_with_at_least_medium_error_correction():
    url = make_label(7).url
    code = segno.make(url, error=QR_ERROR, micro=False, mask=QR_MASK)
    assert qr_matrix(url) == code.matrix
    assert code.error in {"M", "Q", "H"}
    assert code.mode == "alphanumeric"  # the upper-case URL is packed 5.5 bits per character


QR_BLOCK = re.compile(
    r"q\n(?P<scale>\S+) 0 0 (?P<flip>\S+) (?P<left>\S+) (?P<top>\S+) cm\n(?P<rects>.*?)\nf\nQ",
    re.DOTALL,
)
RECT = re.compile(r"(\d+) (\d+) (\d+) 1 re")


def drawn_qr_codes(reader: PdfReader, page: int) -> list[dict]:
    content = reader.pages[page].get_contents().get_data().decode("latin-1")
    codes = []
    for block in QR_BLOCK.finditer(content):
        runs = [(int(r), int(c), int(n)) for c, r, n in RECT.findall(block["rects"])]
        codes.append(
            {**{k: float(block[k]) for k in ("scale", "flip", "left", "top")}, "runs": runs}
        )
    return codes


def test_the_pdf_draws_the_qr_matrix_of_each_label(tmp_path):
    labels = make_labels(3)
    _written, reader = render(tmp_path, labels)
    drawn = drawn_qr_codes(reader, 0)
    assert len(drawn) == 3
    for label, qr in zip(labels, drawn, strict=True):
        expected = qr_matrix(label.url)
        assert matrix_from_runs(qr["runs"], len(expected)) == [list(row) for row in expected]
        assert qr["flip"] == -qr["scale"]  # y points down the rows


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_the_qr_code_is_at_least_14_mm_and_stays_inside_its_label(tmp_path, name):
    label = make_label(0)
    _written, reader = render(tmp_path, [label], name)
    (qr,) = drawn_qr_codes(reader, 0)
    side = len(qr_matrix(label.url)) * qr["scale"]
    assert side >= 14 * mm
    left, top, width, height = LAYOUTS[name].label_box_mm(0)
    quiet = QR_QUIET_ZONE * qr["scale"]
    page_top = A4_HEIGHT_MM * mm
    assert qr["left"] - quiet >= left * mm
    assert qr["left"] + side + quiet <= (left + width) * mm
    assert qr["top"] + quiet <= page_top - top * mm
    assert qr["top"] - side - quiet >= page_top - (top + height) * mm


# --- Text ----------------------------------------------------------------------------------------


def test_pages_hold_the_printed_codes_in_order_and_the_caption_with_its_diacritics(tmp_path):
    labels = make_labels(70)
    _written, reader = render(tmp_path, labels)
    first_page, second_page = page_words(reader, 0), page_words(reader, 1)
    assert all(label.code in first_page for label in labels[:65])
    assert not any(label.code in first_page for label in labels[65:])
    assert all(label.code in second_page for label in labels[65:])
    assert first_page.count(CAPTION) == 65
    assert second_page.startswith(f"{CAPTION} {labels[65].code}")


def test_a_decomposed_caption_is_printed_composed(tmp_path):
    decomposed = unicodedata.normalize("NFD", CAPTION)
    assert decomposed != CAPTION
    _written, reader = render(tmp_path, [make_label(0, caption=decomposed)], "21")
    assert CAPTION in page_words(reader, 0)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
@pytest.mark.parametrize(
    "label",
    [
        make_label(1),
        make_label(2, caption="Vải thiều Thanh Hà đặc sản Hải Dương loại một, hộp quà tặng Tết"),
        Label(url=URL_STEM + "X", code="0123456789ABCDEFGHJKMNPQRST", caption="Đặc sản"),
        Label(url=URL_STEM + "Y", code="0123 4567 89AB CDEF GHJK MNPQ RSTV WXYZ 0123 4567"),
        Label(url=URL_STEM + "Z", code="0123-4567-89AB-CDEF-GHJK", caption=CAPTION),
    ],
    ids=["usual", "long caption", "code without spaces", "long code", "hyphenated code"],
)
def test_every_printed_line_fits_the_text_column_of_the_label(name, label):
    from reportlab.pdfbase.pdfmetrics import stringWidth

    font_name = register_font(DEFAULT_FONT_PATH)
    geometry = LabelGeometry.for_layout(LAYOUTS[name])
    lines = text_lines(label, geometry, font_name)
    assert all(stringWidth(text, font_name, size) <= geometry.text_width for text, size in lines)
    assert sum(size * 1.2 for _text, size in lines) <= geometry.text_height + 1e-6
    printed = "".join(text for text, _size in lines).replace(" ", "")
    assert label.code.replace(" ", "") in printed  # the code is never cut short


def test_codes_break_at_spaces_or_after_hyphens_and_keep_their_size():
    font_name = register_font(DEFAULT_FONT_PATH)
    geometry = LabelGeometry.for_layout(LAYOUTS["65"])
    for code, expected in [
        ("0123 4567 89AB CDEF GHJK", ["0123 4567", "89AB CDEF", "GHJK"]),
        ("0123-4567-89AB-CDEF-GHJK", ["0123-4567-", "89AB-CDEF-", "GHJK"]),
    ]:
        lines = text_lines(Label(url=URL_STEM, code=code), geometry, font_name)
        assert [text for text, _size in lines] == expected
        assert {size for _text, size in lines} == {geometry.code_size}


def test_a_spaced_hyphen_in_a_caption_stays_as_written():
    font_name = register_font(DEFAULT_FONT_PATH)
    words = wrap_groups("Na dai - Quảng Tân", font_name=font_name, size=6, width=1000)
    assert words == ["Na dai - Quảng Tân"]


def test_a_caption_too_long_for_two_lines_is_cut_with_an_ellipsis():
    font_name = register_font(DEFAULT_FONT_PATH)
    geometry = LabelGeometry.for_layout(LAYOUTS["65"])
    caption = "Hợp tác xã nông nghiệp " * 6
    lines = text_lines(make_label(0, caption=caption), geometry, font_name)
    caption_lines = lines[:2]
    assert caption_lines[0][0].startswith("Hợp tác xã")
    assert caption_lines[1][0].endswith("…")


# --- Sheets --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "count"), [("65", 130), ("65", 131), ("21", 22), ("21", 1)])
def test_page_count_is_the_labels_divided_by_labels_per_sheet_rounded_up(tmp_path, name, count):
    written, reader = render(tmp_path, make_labels(count), name)
    assert written == count
    assert len(reader.pages) == math.ceil(count / LAYOUTS[name].per_page)
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width / mm), round(height / mm)) == (210, 297)


def test_labels_are_taken_from_the_iterable_one_sheet_at_a_time(tmp_path):
    taken = 0

    def labels() -> Iterator[Label]:
        nonlocal taken
        for index in range(150):
            taken += 1
            yield make_label(index)

    seen = []  # (labels done, labels taken from the generator) at each progress call
    written, reader = render(tmp_path, labels(), progress=lambda done: seen.append((done, taken)))
    assert written == 150
    assert seen == [(65, 65), (130, 130), (150, 150)]
    assert len(reader.pages) == 3


def test_progress_counts_increase_to_the_number_of_labels(tmp_path):
    counts = []
    _written, _reader = render(tmp_path, make_labels(50), "21", progress=counts.append)
    assert counts == [21, 42, 50]


def test_no_labels_give_one_blank_page(tmp_path):
    counts = []
    written, reader = render(tmp_path, iter(()), progress=counts.append, title="Lô trống")
    assert written == 0
    assert counts == [0]
    assert len(reader.pages) == 1
    assert reader.pages[0].extract_text().strip() == ""
    assert reader.metadata.title == "Lô trống"


def test_the_title_goes_in_the_document_properties(tmp_path):
    _written, reader = render(tmp_path, make_labels(1), title="Lô tem 2025-07 · Na dai")
    assert reader.metadata.title == "Lô tem 2025-07 · Na dai"


def test_a_missing_font_file_is_named_in_the_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no-such-font\.ttf"):
        render_label_sheet(
            tmp_path / "labels.pdf",
            make_labels(1),
            layout=LAYOUTS["65"],
            font_path=str(tmp_path / "no-such-font.ttf"),
        )
