"""Stamp label PDF for 10,000 labels: is it well under 30 s (aim: < 10 s) on a 2-CPU machine?

    .venv/bin/python bench/label_pdf.py              # 10,000 labels on the 65-up layout
    .venv/bin/python bench/label_pdf.py --labels 100000 --rounds 1

Renders the labels with xaso.lib.labels.render_label_sheet into a temporary directory, fed by
a generator as a stamp batch would be. Machines are noisy, so the time is also given as a ratio
to a baseline timed in the same process, alternating round by round: the same labels written
as a CSV file, plus their QR matrices encoded with segno and not drawn. What the PDF costs
beyond that baseline is the drawing: runs, PDF operators, text, compression.

Peak memory is the process's maximum resident set size (ru_maxrss), read after the baselines
alone and again after the PDFs, so the second figure is what rendering adds.
"""

import argparse
import csv
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from xaso.lib.labels import DEFAULT_FONT_PATH, LAYOUTS, Label, qr_matrix, render_label_sheet

LABELS = 10_000
ROUNDS = 3
LAYOUT = "65"
SEED = 20250701
BUDGET_S = 30.0
AIM_S = 10.0

URL_STEM = "HTTPS://XA.EXAMPLE.VN/S/"  # upper case, as the caller passes it
CAPTION = "Na dai Quảng Tân"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# --- Data ----------------------------------------------------------------------------------------
def stamp_codes(count: int) -> list[str]:
    """20 random Crockford base32 characters each (100 bits), like a stamp batch's codes."""
    rng = random.Random(SEED)
    return ["".join(rng.choices(CROCKFORD, k=20)) for _ in range(count)]


def labels_from(codes: list[str]) -> Iterator[Label]:
    for code in codes:
        grouped = " ".join(code[start : start + 4] for start in range(0, len(code), 4))
        yield Label(url=URL_STEM + code, code=grouped, caption=CAPTION)


# --- The work and its baselines ------------------------------------------------------------------
def write_csv(codes: list[str], directory: str) -> None:
    with open(os.path.join(directory, "labels.csv"), "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["url", "code", "caption"])
        for label in labels_from(codes):
            writer.writerow([label.url, label.code, label.caption])


def encode_qr_matrices(codes: list[str]) -> None:
    for label in labels_from(codes):
        qr_matrix(label.url)  # what the PDF encodes, with the same segno options


def render_pdf(codes: list[str], directory: str) -> int:
    path = os.path.join(directory, "labels.pdf")
    render_label_sheet(
        path, labels_from(codes), layout=LAYOUTS[LAYOUT], font_path=DEFAULT_FONT_PATH
    )
    return os.path.getsize(path)


def timed_s(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


@dataclass
class Timings:
    csv_s: list[float]
    qr_s: list[float]
    pdf_s: list[float]
    pdf_bytes: int = 0
    rss_after_baseline_mb: float = 0.0

    def median(self, name: str) -> float:
        return statistics.median(getattr(self, name))


def measure(codes: list[str], rounds: int, directory: str) -> Timings:
    timings = Timings([], [], [])
    for round_index in range(rounds):
        timings.csv_s.append(timed_s(lambda: write_csv(codes, directory)))
        timings.qr_s.append(timed_s(lambda: encode_qr_matrices(codes)))
        if round_index == 0:
            timings.rss_after_baseline_mb = peak_rss_mb()
        started = time.perf_counter()
        timings.pdf_bytes = render_pdf(codes, directory)
        timings.pdf_s.append(time.perf_counter() - started)
    return timings


# --- Report --------------------------------------------------------------------------------------
def report(timings: Timings, labels: int) -> None:
    pages = -(-labels // LAYOUTS[LAYOUT].per_page)
    csv_s, qr_s, pdf_s = timings.median("csv_s"), timings.median("qr_s"), timings.median("pdf_s")
    baseline_s = csv_s + qr_s
    rows = [
        ("baseline: CSV of urls + codes", csv_s, ""),
        ("baseline: segno QR matrices, not drawn", qr_s, ""),
        ("baseline: both", baseline_s, "1.0"),
        ("PDF: render_label_sheet", pdf_s, f"{pdf_s / baseline_s:.1f}"),
        ("  of which drawing (PDF - baseline)", pdf_s - baseline_s, ""),
    ]
    header = f"{'case':<42} {'median s':>9} {'× baseline':>10}"
    print(header)
    print("-" * len(header))
    for label, seconds, ratio in rows:
        print(f"{label:<42} {seconds:>9.2f} {ratio:>10}")
    spread = ", ".join(f"{seconds:.2f}" for seconds in timings.pdf_s)
    print(f"\nPDF runs: {spread} s · {pages / pdf_s:.1f} pages/s · {labels / pdf_s:,.0f} labels/s")
    print(f"PDF size: {timings.pdf_bytes / 1e6:.1f} MB for {pages} pages")
    print(
        f"Peak RSS: {timings.rss_after_baseline_mb:.0f} MB after the baselines, "
        f"{peak_rss_mb():.0f} MB after the PDFs"
    )
    verdict = "yes" if pdf_s < AIM_S else ("within budget only" if pdf_s < BUDGET_S else "NO")
    print(f"{labels:,} labels under {AIM_S:.0f} s (budget {BUDGET_S:.0f} s)? {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=LABELS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    started = time.perf_counter()
    codes = stamp_codes(args.labels)
    print(f"Stamp label PDF benchmark: {args.labels:,} labels, layout {LAYOUT}-up A4")
    print(f"{args.rounds} rounds, baseline and PDF alternating; medians below.")
    print(f"Load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)\n")
    with tempfile.TemporaryDirectory(prefix="xaso-bench-") as directory:
        timings = measure(codes, args.rounds, directory)
    report(timings, args.labels)
    print(f"Load average after: {os.getloadavg()[0]:.1f}")
    print(f"Benchmark ran in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
