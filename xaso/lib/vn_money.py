"""Money in Vietnamese: "1.250.000 ₫" in figures and "Một triệu hai trăm năm mươi nghìn đồng".

Receipts print the amount both ways (Circular 78/2021). The words follow the usual reading
rules of accounting software and banks:

- 1 after "mươi" is "mốt" (21 → hai mươi mốt), but "một" after "mười" (11 → mười một);
- 5 after "mười"/"mươi" is "lăm" (15, 25), but "năm" after "linh" (105 → một trăm linh năm);
- 4 after "mươi" is "tư" (24 → hai mươi tư), "bốn" elsewhere (14, 104);
- a zero ten inside a number is "linh" (105, 1.005 → một nghìn không trăm linh năm);
- a group after the first one always says its hundreds, "không trăm" included
  (1.000.005 → một triệu không trăm linh năm), and a group of three zeros is silent;
- thousands of billions are "nghìn tỷ" (10^12 → một nghìn tỷ).
"""

DIGITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]
# Group names by power of 1,000; the 4th comes round again: "tỷ" then "nghìn tỷ", …
_SCALES = ["", "nghìn", "triệu"]
MAX_AMOUNT = 10**18 - 1


def format_vnd(amount: int) -> str:
    """8000 → "8.000 ₫" (dots between thousands, the đồng sign after a space)."""
    return f"{amount:,}".replace(",", ".") + " ₫"


def _tens_and_units(tens: int, units: int, *, after_hundreds: bool) -> list[str]:
    words: list[str] = []
    if tens == 0:
        if units == 0:
            return words
        if after_hundreds:
            words.append("linh")
        words.append(DIGITS[units])
        return words
    if tens == 1:
        words.append("mười")
    else:
        words += [DIGITS[tens], "mươi"]
    if units == 1:
        words.append("mốt" if tens > 1 else "một")
    elif units == 4:
        words.append("tư" if tens > 1 else "bốn")
    elif units == 5:
        words.append("lăm")
    elif units:
        words.append(DIGITS[units])
    return words


def _group(number: int, *, full: bool) -> list[str]:
    """0–999 in words; `full` says the hundreds even when zero (a group after the first)."""
    hundreds, rest = divmod(number, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
    words += _tens_and_units(tens, units, after_hundreds=bool(words))
    return words


def _scale_name(index: int) -> str:
    """Name of the index-th group of three digits from the right: "", nghìn, triệu, tỷ, …"""
    if index == 0:
        return ""
    billions, rest = divmod(index, 3)
    words = [_SCALES[rest]] if rest else []
    words += ["tỷ"] * billions
    return " ".join(word for word in words if word)


def number_to_words(number: int) -> str:
    """A whole number in Vietnamese words, lower case: 1250000 → "một triệu hai trăm năm mươi
    nghìn"."""
    if not isinstance(number, int) or isinstance(number, bool):
        raise TypeError("number must be an int")
    if number < 0 or number > MAX_AMOUNT:
        raise ValueError("number out of range")
    if number == 0:
        return DIGITS[0]
    groups = []
    while number:
        number, group = divmod(number, 1000)
        groups.append(group)
    words: list[str] = []
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            continue
        words += _group(group, full=bool(words))
        scale = _scale_name(index)
        if scale:
            words.append(scale)
    return " ".join(words)


def amount_in_words(amount: int) -> str:
    """8000 → "Tám nghìn đồng": capitalised, with the currency, as printed on a receipt."""
    text = f"{number_to_words(amount)} đồng"
    return text[0].upper() + text[1:]
