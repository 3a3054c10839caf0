"""Text helpers for Vietnamese: search keys without diacritics, masking."""

import unicodedata


def search_key(*parts: str | None) -> str:
    """Lower-case, diacritic-free text so "nguyen van" finds "Nguyễn Văn".

    Vietnamese đ/Đ is a distinct letter, not a composed one, so it is mapped by hand.
    """
    text = " ".join(part for part in parts if part)
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(stripped.lower().split())


def mask(value: str, *, keep_start: int = 0, keep_end: int = 3) -> str:
    """Hide all but `keep_start` leading and `keep_end` trailing characters:
    mask("001234567890") == "•••••••••890"."""
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return "•" * len(value)
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + "•" * hidden + value[len(value) - keep_end :]
