"""Petitioner fields, letter date, addressee and title, read from the letter's own words.

Every field comes from a labelled place in the letter ("Tôi tên là", "Địa chỉ:", the date
line, the signature block). A field the letter does not carry is None: a wrong name or
phone is worse than none, because clerks trust what they see filled in.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date

from . import provinces
from .text import fold

U = "A-ZÀ-ỸĐ"  # upper-case letters, Vietnamese included
L = "a-zà-ỹđ"
WORD = rf"[{U}{L}À-ỹ][{L}À-ỹ'’]*\.?"

HONORIFICS = re.compile(
    r"^(?:ông\s*/\s*bà|ông|bà|anh|chị|cụ|cô|chú|bác|em|tôi|là|đồng chí|đ/c|ô\.|b\.)\s+", re.IGNORECASE
)


@dataclass
class Fields:
    name: str | None = None
    organization: str | None = None
    address: str | None = None
    province: str | None = None  # today's province (after the 2025 reorganisation)
    province_written: str | None = None  # as the letter writes it
    phone: str | None = None
    id_number: str | None = None
    letter_date: date | None = None
    addressee: str | None = None
    title: str | None = None
    collective: bool = False  # signed by many people (đơn tập thể, đông người)
    relatives: tuple[str, ...] = ()  # whom the writer writes for: "con trai ông X", "thay mặt bố tôi là X"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["letter_date"] = self.letter_date.isoformat() if self.letter_date else None
        return d


def extract(text: str) -> Fields:
    lines = [ln.strip() for ln in text.split("\n")]
    f = Fields()
    f.organization = find_organization(text, lines)
    f.name = find_name(text, lines)
    f.address = find_address(text)
    who = text  # where the petitioner's own details are
    if client := find_client(text):
        # A lawyer writes for a client: the client is the petitioner, the firm is not.
        f.name, start = client
        who = text[start:]
        f.organization = None
        f.address = find_address(who)
    if f.address:
        written = find_province(f.address)
        f.province_written = written
        f.province = provinces.OLD_TO_NEW.get(written) if written else None
    f.phone = find_phone(who[:400] if client else text)
    f.id_number = find_id_number(who)
    f.letter_date = find_letter_date(lines)
    f.addressee = find_addressee(lines)
    f.title = find_title(lines)
    f.collective = is_collective(text)
    f.relatives = find_relatives(text)
    return f


# --- name ---------------------------------------------------------------------------

_NAME_LABELS = re.compile(
    r"(?:(?:tôi|tui|em|cháu|con)\s+tên(?:\s+là)?|tên\s+(?:tôi|tui|em)\s+là|(?:tui|em|cháu)\s+là|họ\s+và\s+tên|họ\s+tên|tôi\s+là|tôi\s+tên|"
    r"người\s+(?:khiếu\s+nại|tố\s+cáo|kiến\s+nghị|phản\s+ánh|đề\s+nghị|làm\s+đơn|viết\s+đơn|gửi\s+đơn|"
    r"đại\s+diện(?:\s+theo\s+pháp\s+luật)?|đứng\s+đơn)|đại\s+diện(?:\s+hộ\s+gia\s+đình)?\s+là|đại\s+diện\s+đứng\s+đơn|"
    r"chúng\s+tôi\s+gồm|chúng\s+tôi\s+là|tôi(?=\s+(?-i:[A-ZĐ])))"
    r"\s*(?:\([^)]*\))?\s*[:\-–]?\s*",
    re.IGNORECASE,
)
# Case-sensitive on purpose: names are Capitalised ("Lò Văn Sinh"), the words that end
# them are not ("..., sinh năm 1955").
_NAME_STOP = re.compile(
    r"\s*(?:,|;|\(|–|—|\s-\s|\bsinh\b|\bsanh\b|\bSN\b|\bNS\b|\b[Nn]ăm\s+sinh\b|\bNĂM\s+SINH\b|\bCCCD\b|\bCMND\b|\bcccd\b|\bcmnd\b|\bsố\b|\bhiện\b|"
    r"\btrú\b|\bcư\s+trú\b|\bngụ\b|\bđịa\s+chỉ\b|\bở\b|\blà\b|\bchức\s+vụ\b|\b[Gg]iám\s+đốc\b|\bGIÁM\s+ĐỐC\b|\bdân\s+tộc\b|"
    r"\b[Đđ]iện\s+thoại\b|\bĐT\b|\bSĐT\b|\bnăm\s+nay\b|\bnay\b|\btuổi\b|\bquê\b|\bthôn\b|\bbản\b|\bấp\b|\bxóm\b|\d|"
    r"(?<!\s[A-ZĐ])\.\s|(?<!\s[A-ZĐ])\.$| {2,}|\t|\n|$)"
)


def clean_name(candidate: str) -> str | None:
    candidate = candidate.strip(" .:;,-–\t")
    for _ in range(2):
        candidate = HONORIFICS.sub("", candidate).strip()
    tokens = candidate.split()
    if not (2 <= len(tokens) <= 6 or (len(tokens) == 1 and ("'" in candidate or "’" in candidate))):
        return None
    if not all(_name_token(t) for t in tokens):
        return None
    if any(t.lower().strip(".") in _NOT_NAME_WORDS for t in tokens) or provinces.canonical(candidate):
        return None
    if candidate.isupper():
        candidate = " ".join(t.capitalize() for t in tokens)
    return candidate


def _name_token(t: str) -> bool:
    """A syllable of a name: Capitalised, ALL CAPS, an initial ("T."), or K'Brêu / H'Hen."""
    if len(t) == 2 and t[1] == "." and t[0].isupper():
        return True
    parts = re.split(r"['’]", t)
    return all(p and p.isalpha() and p[0].isupper() and (p[1:].islower() or p.isupper() or len(p) == 1) for p in parts)


# Words that never stand in a person's name (compared with accents: folding them would
# also reject real names such as Phượng or Trương).
_NOT_NAME_WORDS = {
    "ủy", "ubnd", "hđnd", "tỉnh", "huyện", "xã", "phường", "quận", "thôn", "ấp", "xóm", "ty", "tnhh", "giám", "đốc",
    "chủ", "tịch", "đơn", "kính", "gửi", "thcs", "thpt", "sở", "phòng", "ban", "cộng", "độc", "người",
    "các", "hộ", "ký", "ghi", "rõ", "tên", "xin", "cảm", "trân", "trọng", "nơi", "nhận", "đại", "diện", "thay",
    "mặt", "tm", "tm.", "cùng", "kèm", "theo", "đã", "ngày", "tháng", "của", "và", "với", "nhóm", "một", "cán", "bộ",
    "thanh", "tra", "công", "an", "việt", "chi", "cục", "hội", "đồng", "dự", "án", "tổ", "trưởng", "đoàn", "kiến", "nghị",
}
# ...except as syllables of a name: "Thanh", "Công", "An", "Đồng", "Đoàn" are common.
_NOT_NAME_WORDS -= {"thanh", "công", "an", "đồng", "đoàn", "việt", "chi", "hội", "kiến", "trọng", "nghị"}


def find_name(text: str, lines: list[str]) -> str | None:
    for m in _NAME_LABELS.finditer(text):
        rest = text[m.end() : m.end() + 80]
        stop = _NAME_STOP.search(rest)
        name = clean_name(rest[: stop.start()] if stop else rest)
        if name:
            return name
    return signature_name(lines)


_SIGN_HINT = re.compile(
    r"(người\s+(làm|viết|gửi|đứng)\s+đơn|kính\s+đơn|ký\s+tên|ghi\s+rõ\s+họ\s+tên|trân\s+trọng|xin\s+cảm\s+ơn|giám\s+đốc|"
    r"đại\s+diện|thay\s+mặt|^tm\.?\s|người\s+(khiếu\s+nại|tố\s+cáo|kiến\s+nghị|đề\s+nghị|phản\s+ánh))",
    re.IGNORECASE,
)


def _signature_candidate(line: str) -> str:
    line = re.sub(r"\(.*?\)", "", line)
    if re.search(r"\bngày\b|\d{1,2}/\d{1,2}/\d{4}", line, re.IGNORECASE) and "," in line:
        return ""  # a date line ("Biên Hòa, ngày 16/10/2023")
    line = line.rsplit(":", 1)[-1]  # "Tổ trưởng: Nguyễn Đăng Khoa"
    line = re.sub(r"^\s*\d{1,2}[.)]\s*", "", line)  # "1. Lê Đình Khải - thôn ..."
    line = re.split(r"\s[-–—]\s|\s{2,}|\t|,", line.strip())[0]
    return re.sub(r"[\s\d/.\-]+$", "", line).strip()  # "Tòng Văn Hặc 13/4/2020"


def signature_name(lines: list[str]) -> str | None:
    """The name under the signature: the first name-shaped line after the last
    signature hint ("Người làm đơn", "Đại diện các hộ", "GIÁM ĐỐC"), else the last line."""
    tail = [ln for ln in lines if ln.strip()][-14:]
    hints = [i for i, ln in enumerate(tail) if _SIGN_HINT.search(ln)]
    if hints:
        for ln in tail[hints[-1] + 1 :]:
            if name := clean_name(_signature_candidate(ln)):
                return name
        for i in reversed(hints[:-1]):  # names between two hints ("GIÁM ĐỐC" then "(đã ký)")
            for ln in tail[i + 1 : hints[-1]]:
                if name := clean_name(_signature_candidate(ln)):
                    return name
    for ln in reversed(tail[-4:]):  # no hint: a name alone on one of the last lines
        if name := clean_name(_signature_candidate(ln)):
            return name
    return None


# --- organisation -------------------------------------------------------------------

_ORG = re.compile(
    r"\b((?:công\s+ty|cty|hợp\s+tác\s+xã|doanh\s+nghiệp\s+tư\s+nhân|tổng\s+công\s+ty|tập\s+đoàn)"
    r"(?:\s+(?:TNHH|cổ\s+phần|CP|MTV|một\s+thành\s+viên|hai\s+thành\s+viên|trách\s+nhiệm\s+hữu\s+hạn|[{U}0-9][\w&\-\.]*))+)".format(U=U),
    re.IGNORECASE,
)


def find_organization(text: str, lines: list[str]) -> str | None:
    """A business letter names its company in the letterhead (first lines)."""
    head = "\n".join(lines[:6])
    m = re.search(r"^\s*((?:CÔNG TY|HỢP TÁC XÃ|DOANH NGHIỆP TƯ NHÂN|TỔNG CÔNG TY|CTY)\b[^\n]*)$", head, re.MULTILINE)
    if not m:
        return None
    letterhead = re.split(r"\s{2,}|\s[-–]\s|CỘNG HÒA|CỘNG HOÀ", m.group(1))[0].strip(" .,")
    # The body usually repeats the name in ordinary case: prefer that spelling.
    key = fold(letterhead)
    for cand in _ORG.finditer(text[m.end() :]):
        c = cand.group(1).strip(" .,")
        if fold(c).startswith(key) or key.startswith(fold(c)) and len(c) > len(letterhead) * 0.8:
            return c[: len(letterhead)] if len(c) > len(letterhead) else c
    return letterhead


# --- address and province -----------------------------------------------------------

_ADDR_LABELS = re.compile(
    r"(?:địa\s+chỉ(?:\s+[^\s:]+){0,2}|ngụ|nơi\s+(?:cư\s+trú|ở\s+hiện\s+nay|thường\s+trú)|"
    r"hộ\s+khẩu\s+thường\s+trú|(?:quê\s+quán\s+và\s+)?trú\s+quán|thường\s+trú(?:\s+tại)?|tạm\s+trú(?:\s+tại)?|hiện\s+(?:cư\s+)?(?:trú|ở|sống|đang\s+ở)(?:\s+tại)?|"
    r"cư\s+trú\s+tại|trú\s+tại|ngụ\s+tại|chỗ\s+ở(?:\s+hiện\s+nay)?|nhà\s+ở\s+tại|ở\s+tại|trụ\s+sở(?:\s+chính)?|"
    r"sinh\s+sống\s+tại|ngụ\s+ở|ở)"
    r"\s*[:\-–]\s*|(?:cư\s+trú|trú|ngụ|sinh\s+sống|thường\s+trú|hiện\s+ở)\s+tại\s+|(?:cư\s+ngụ|trú)\s+ở\s+",
    re.IGNORECASE,
)
_ADDR_START = re.compile(
    r"^(?:số|khu\s+vực|phòng|kp|p\.|q\.|cụm|kcn|thôn|xóm|ấp|bản|buôn|plei|làng|tổ|khu|khóm|khối|đội|hẻm|ngõ|ngách|kiệt|đường|phố|phường|xã|thị\s+trấn|"
    r"xã|quận|huyện|thành\s+phố|tp|tỉnh|lô|căn|nhà|\d)",
    re.IGNORECASE,
)
_ADDR_STOP = re.compile(
    r"\s*(?:\n|;|(?<!\bTP)(?<!\bTp)(?<!\btp)(?<!\bQ)(?<!\bP)\.\s|\.$|\s[-–]\s*(?:ĐT|SĐT|Điện|điện|Tel|Email|MST|Mã)|,?\s*(?:số\s+)?(?:điện\s+thoại|ĐT|SĐT|sđt|Tel|Email|"
    r"mã\s+số|MST|fax|CCCD|CMND)\b|\s*\((?:cũ|nay|trước)[^)]*\)\s*$)",
    re.IGNORECASE,
)
_ADDR_UNIT = re.compile(
    r"\b(thôn|xóm|ấp|bản|buôn|plei|làng|tổ|khu|khóm|khối|ngõ|ngách|hẻm|kiệt|xã|phường|thị trấn|huyện|quận|tỉnh|thành phố|"
    r"đường|phố|số nhà|TP)\b",
    re.IGNORECASE,
)


_UNIT_WORDS = (
    r"(?:số\s+nhà|số\s+\d|\d+[/\-]\d|thôn|xóm|ấp|bản|buôn|plei|làng|tổ\s+dân\s+phố|tổ\s+\d|khu\s+phố|khu\s+vực|khu\s+tập\s+thể|"
    r"khu\s+\d|khóm|khối|hẻm|ngõ|ngách|kiệt|đường|phòng|căn\s+hộ|lô|KP\s|phố\s)"
)
_ADDR_INLINE = re.compile(
    r"(?:\bở|\btại|\btrú|\bngụ|hộ\s+dân|người\s+dân|nhân\s+dân|công\s+dân|bà\s+con)\s+(?:(?:sinh\s+sống\s+)?(?:tại|ở)\s+)?(?=" + _UNIT_WORDS + ")",
    re.IGNORECASE,
)
_PROV_LEVEL = re.compile(r"(?:tỉnh|thành\s+phố|tp\.?)\s+([^,;()\n]+)", re.IGNORECASE)


def find_address(text: str) -> str | None:
    starts = sorted(
        [m.end() for m in _ADDR_LABELS.finditer(text)] + [m.end() for m in _ADDR_INLINE.finditer(text)]
    )
    for start in starts:
        rest = text[start : start + 220]
        stop = _ADDR_STOP.search(rest)
        addr = trim_address(rest[: stop.start()] if stop else rest)
        if len(addr) < 6 or not _ADDR_UNIT.search(addr):
            continue
        if not _ADDR_START.match(addr) and not provinces.find_last(addr):
            continue
        return addr
    return None


def trim_address(addr: str) -> str:
    """An address ends with its province: drop asides and the sentence that follows it."""
    addr = addr.split("(")[0]
    last = None
    for m in _PROV_LEVEL.finditer(addr):
        name = m.group(1).strip(" .")
        for n in range(min(4, len(name.split())), 0, -1):
            cand = " ".join(name.split()[:n])
            if provinces.canonical(cand):
                last = m.start(1) + name.index(cand) + len(cand) if cand in name else m.end()
                break
    if last is not None:
        addr = addr[:last]
    return addr.strip(" .,:;-–")


_PROV_PREFIX = re.compile(r"(?:tỉnh|thành\s+phố|tp\.?)\s+([^,;\n]+)$", re.IGNORECASE)


def find_province(address: str) -> str | None:
    parts = [p.strip(" .") for p in re.split(r"[,;]", address) if p.strip(" .")]
    for part in reversed(parts):  # the province is the last administrative level
        m = _PROV_PREFIX.search(part)
        if m and (c := provinces.canonical(m.group(1))):
            return c
    if parts and (c := provinces.canonical(parts[-1])):
        return c
    found = provinces.find_last(parts[-1]) if parts else None
    return found


# --- phone and ID -------------------------------------------------------------------

_DIGITS = r"(?:\+?84[\s.\-]?|0)\d(?:[\s.\-]?\d){7,10}"
_PHONE = re.compile(rf"(?<![\d])({_DIGITS})(?![\d])")
_PHONE_LABEL = re.compile(r"(điện\s+thoại|đt|sđt|sdt|dđ|di\s+động|số\s+máy|liên\s+hệ|phone|tel|zalo|đthoại)\W*$", re.IGNORECASE)
_NOT_PHONE = re.compile(r"(fax|mst|mã\s+số|mã\s+doanh|tài\s+khoản|stk|cccd|cmnd|căn\s+cước|chứng\s+minh|định\s+danh|giấy\s+chứng\s+nhận|số\s+hiệu)[^\n]{0,25}$", re.IGNORECASE)


def _phone_digits(raw: str) -> str | None:
    d = re.sub(r"\D", "", raw)
    if d.startswith("84") and len(d) in (11, 12):
        d = "0" + d[2:]
    if len(d) == 10 and d[:2] in {"03", "05", "07", "08", "09", "02"}:
        return d
    if len(d) == 11 and d[:2] in {"01", "02"}:
        return d
    return None


def find_phone(text: str) -> str | None:
    best: tuple[int, int, str] | None = None
    for m in _PHONE.finditer(text):
        digits = _phone_digits(m.group(1))
        if not digits:
            continue
        before = text[max(0, m.start() - 40) : m.start()]
        if _NOT_PHONE.search(before):
            continue
        labelled = bool(_PHONE_LABEL.search(before[-22:]))
        mobile = not digits.startswith("02")
        if not labelled and not mobile:
            continue
        score = (2 if mobile else 0) + (1 if labelled else 0)
        if best is None or score > best[0]:
            best = (score, m.start(), digits)
    return best[2] if best else None


_ID_LABEL = re.compile(
    r"(?:CCCD|CMND|CMTND|căn\s+cước(?:\s+công\s+dân)?|chứng\s+minh(?:\s+nhân\s+dân|\s+thư)?|số\s+định\s+danh(?:\s+cá\s+nhân)?|thẻ\s+căn\s+cước)"
    r"[^\d\n]{0,20}?((?:\d[\s.]?){8,12}\d?)",
    re.IGNORECASE,
)


def find_id_number(text: str) -> str | None:
    for m in _ID_LABEL.finditer(text):
        d = re.sub(r"\D", "", m.group(1))
        if len(d) in (9, 12):
            return d
    return None


# --- date ---------------------------------------------------------------------------

_VN_DATE = re.compile(
    r"ngày\s*([0-9]{1,2}|[.…\s_]*)\s*(?:,\s*)?tháng\s*([0-9]{1,2}|[.…\s_]*)\s*(?:,\s*)?năm\s*([0-9]{4})", re.IGNORECASE
)
_NUM_DATE = re.compile(r"(?<!\d)(\d{1,2})\s*[/\-.]\s*(\d{1,2})\s*[/\-.]\s*(\d{4})(?!\d)")
_DATE_LINE_PREFIX = re.compile(rf"^[{U}{L}\s.\-]{{0,40}},?\s*$", re.IGNORECASE)


def _make_date(d: str, m: str, y: str) -> date | None:
    try:
        result = date(int(y), int(m), int(d))
    except ValueError:
        return None
    return result if 1990 <= result.year <= 2040 else None


def _date_in_line(line: str) -> tuple[bool, date | None] | None:
    """(is a date line, its date) when the line is a date line, else None."""
    m = _VN_DATE.search(line)
    if m and _DATE_LINE_PREFIX.match(line[: m.start()]) and len(line) - m.end() < 12:
        day, month, year = m.groups()
        if not day.strip(" ._…") or not month.strip(" ._…"):
            return (True, None)  # "ngày ... tháng 3 năm 2023": the writer left it blank
        return (True, _make_date(day, month, year))
    m = _NUM_DATE.search(line)
    if m and len(line) - m.end() < 6:
        prefix = line[: m.start()]
        prefix = re.sub(r"ngày\s*$", "", prefix, flags=re.IGNORECASE)
        if _DATE_LINE_PREFIX.match(prefix) and (prefix.strip() == "" or "," in prefix or len(prefix) < 30):
            return (True, _make_date(*m.groups()))
    return None


def find_letter_date(lines: list[str]) -> date | None:
    found = [r for line in lines if line and (r := _date_in_line(line)) is not None]
    return found[0][1] if found else None


# --- addressee and title ------------------------------------------------------------

_KINH_GUI = re.compile(r"^\s*kính\s+gửi\s*[:\-]?\s*(.*)$", re.IGNORECASE)


def find_addressee(lines: list[str]) -> str | None:
    for i, line in enumerate(lines):
        m = _KINH_GUI.match(line)
        if not m:
            continue
        parts = [m.group(1).strip(" -–+;.")] if m.group(1).strip(" -–+;.") else []
        for nxt in lines[i + 1 : i + 8]:
            if re.match(r"^\s*[-–+•]\s*\S", nxt):
                parts.append(nxt.strip(" -–+•;."))
            elif not parts and nxt.strip():
                parts.append(nxt.strip(" ;."))
            else:
                break
        return "; ".join(p for p in parts if p) or None
    return None


_TITLE = re.compile(r"^(ĐƠN|THƯ|TỜ TRÌNH|CÔNG VĂN|BẢN|KIẾN NGHỊ|PHẢN ÁNH|TỐ CÁO|KHIẾU NẠI)\b")


def find_title(lines: list[str]) -> str | None:
    for line in lines[:30]:
        if _TITLE.match(line) and line == line.upper() and len(line) < 90:
            return line.strip()
    return None


_COLLECTIVE = re.compile(
    r"đơn\s+tập\s+thể|chúng\s+tôi\s+gồm|chúng\s+tôi\s+(?:là\s+)?(?:\d+|các|những|tập\s+thể)\s+(?:hộ|người|công\s+dân|hộ\s+dân)|"
    r"(?:các|\d+)\s+hộ\s+(?:dân|gia\s+đình)?\s*(?:có\s+tên|cùng\s+)?ký\s+tên|danh\s+sách\s+(?:các\s+hộ|chữ\s+ký|người\s+ký|hộ\s+dân|\d+\s+hộ)|"
    r"đại\s+diện\s+(?:cho\s+)?(?:các\s+hộ|bà\s+con|nhân\s+dân|tập\s+thể|\d+\s+hộ|các\s+hộ\s+dân)|(?:cùng|đồng)\s+ký\s+tên",
    re.IGNORECASE,
)


def is_collective(text: str) -> bool:
    """Signed by many (đơn đông người): the national report counts these apart."""
    return _COLLECTIVE.search(text) is not None


_LAWYER = re.compile(r"luật\s+sư|công\s+ty\s+luật|văn\s+phòng\s+luật", re.IGNORECASE)
_CLIENT = re.compile(
    r"(?:đại\s+diện(?:\s+theo\s+ủy\s+quyền)?\s+(?:của|cho)|thân\s+chủ(?:\s+(?:là|của\s+(?:tôi|chúng\s+tôi)))?|"
    r"bảo\s+vệ\s+quyền(?:\s+và)?\s+lợi(?:\s+ích)?(?:\s+hợp\s+pháp)?\s+(?:của|cho)|theo\s+ủy\s+quyền\s+của)"
    r"\s*[:\-–]?\s*(?:ông|bà|anh|chị|cụ)\s+",
    re.IGNORECASE,
)


def find_client(text: str) -> tuple[str, int] | None:
    """A lawyer's letter: the client it names, and where the client's details start."""
    if not _LAWYER.search(text[:2000]):
        return None
    for m in _CLIENT.finditer(text):
        rest = text[m.end() : m.end() + 80]
        stop = _NAME_STOP.search(rest)
        if name := clean_name(rest[: stop.start()] if stop else rest):
            return name, m.start()
    return None


_RELATIVE = re.compile(
    r"(?:(?:là\s+)?(?:con|cháu|vợ|chồng|em|anh|chị)(?:\s+(?:trai|gái|ruột|dâu|rể|nội|ngoại|cả|út))?(?:\s+của)?|"
    r"thay\s+mặt(?:\s+cho)?(?:\s+(?:bố|mẹ|cha|ba|má|chồng|vợ|ông|bà)(?:\s+(?:tôi|tui|em))?)?(?:\s+là)?|"
    r"(?:bố|mẹ|cha|ba|má|chồng|vợ)\s+(?:tôi|tui)\s+là)"
    r"\s+(?:ông|bà|cụ|anh|chị)\s+",
    re.IGNORECASE,
)


def find_relatives(text: str) -> tuple[str, ...]:
    """Names of the people the writer writes for, from the first part of the letter."""
    found = []
    for m in _RELATIVE.finditer(text[:1500]):
        rest = text[m.end() : m.end() + 60]
        stop = _NAME_STOP.search(rest)
        if (name := clean_name(rest[: stop.start()] if stop else rest)) and name not in found:
            found.append(name)
    return tuple(found[:3])
