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


def without_nul(value):
    """`value` with NUL characters removed from every string in it, in lists and dicts too."""
    return _each_string(value, _drop_nul)


def clean_input(value):
    """`value` with NUL characters removed from every string in it, in lists and dicts too;
    a ValueError if a string holds a lone surrogate (JSON may escape one: "\\ud800").

    PostgreSQL refuses NUL in text and JSON columns and no caller means anything by one, so
    input from outside (API bodies, camera messages, list filters) drops them; a lone
    surrogate cannot be encoded as UTF-8 at all, so it is refused.
    """
    return _each_string(value, _encodable_without_nul)


def _drop_nul(text: str) -> str:
    return text.replace("\x00", "")


def _encodable_without_nul(text: str) -> str:
    text = _drop_nul(text)
    try:
        text.encode()
    except UnicodeEncodeError as error:
        raise ValueError("Văn bản chứa ký tự không hợp lệ.") from error
    return text


def _each_string(value, change):
    """`value` with `change` applied to every string in it, dict keys included."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [_each_string(item, change) for item in value]
    if isinstance(value, dict):
        return {
            _each_string(key, change): _each_string(item, change) for key, item in value.items()
        }
    return value
