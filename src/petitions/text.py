"""Letter text in two forms.

`clean_text` is what the letter says, as stored, shown and exported: Unicode NFC, tidy
whitespace, lines that OCR or the page width broke mid-sentence joined again. Nothing is
reworded or re-accented. `normalize` and `segment` derive the form the later stages
compute on (features, matching keys): one tone-mark convention, lower case, words
segmented by underthesea. They never replace the clean text.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200d\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u3000]+")
_SENTENCE_END = tuple(".:;!?)]}\"”»")
_BULLET = re.compile(r"^\s*([-–•+*]|\d{1,2}[.)/]|[a-zđ][.)]\s|[IVX]{1,4}[.)])", re.IGNORECASE)


def clean_text(raw: str, page_wrapped: bool = True) -> str:
    """`page_wrapped`: the lines were broken by the page width (a scan, a PDF), so a long
    line that ends mid-sentence continues on the next one, whatever its first letter
    ("..., tỉnh\nBến Tre"). Typed .txt files keep their own line breaks."""
    text = unicodedata.normalize("NFC", raw)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    lengths = sorted(len(line) for line in lines if line)
    full = lengths[int(len(lengths) * 0.75)] if len(lengths) >= 5 else 10**6  # a full-width line
    out: list[str] = []
    for line in lines:
        prev = out[-1] if out else ""
        wrapped = (
            page_wrapped and len(prev) >= 0.75 * full and line[:1].isalnum()
            and not prev.endswith(_SENTENCE_END) and not _LABEL.match(line)
        )
        if prev and line and (wrapped or _continues(prev, line)):
            prev = out.pop()
            out.append(prev[:-1] + line if prev.endswith("-") and prev[-2:-1].isalpha() and line[0].islower() else prev + " " + line)
        else:
            out.append(line)
    text = "\n".join(out)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


# Words a line can only end with when the page width cut the sentence ("..., tỉnh\nBến Tre").
_DANGLING = re.compile(
    r"\b(xã|huyện|tỉnh|phường|quận|thành phố|thị xã|thị trấn|thôn|xóm|ấp|bản|khóm|đường|số|ông|bà|anh|chị|của|và|tại|ở|"
    r"ngày|tháng|năm|là|cho|với|các|những|được|bị|theo|về|do|từ|đến)$"
)


_LABEL = re.compile(r"^[^:.]{1,25}:")  # "Đồng kính gửi:", "Điện thoại:": a line of its own


def _continues(prev: str, line: str) -> bool:
    """A wrapped line: the previous one does not end a sentence and this one starts
    lower-case, or the previous one stops on a word no line can end with."""
    if prev.endswith(_SENTENCE_END) or _BULLET.match(line):
        return False
    return (
        line[0].islower()
        or (line[0].isdigit() and prev[-1].isalpha() and len(prev) > 40)
        or (line[0].isalnum() and len(prev) > 25 and _DANGLING.search(prev) is not None and not _LABEL.match(line))
    )


@lru_cache(maxsize=1)
def _underthesea():
    import underthesea  # 0.4 s import; only stages that need it pay for it

    return underthesea


def normalize(text: str) -> str:
    """Lower case, NFC, one tone-mark placement (hoà -> hòa, thuỷ -> thủy)."""
    text = unicodedata.normalize("NFC", text)
    return _underthesea().text_normalize(text).lower()


def segment(normalized: str) -> list[str]:
    """Words as underthesea segments them; syllables of one word joined by '_'."""
    return [w.replace(" ", "_") for w in _underthesea().word_tokenize(normalized)]


def fold(text: str) -> str:
    """Lower case without diacritics (đ -> d): keys that survive OCR's lost accents."""
    text = unicodedata.normalize("NFD", text.lower()).replace("đ", "d")
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
