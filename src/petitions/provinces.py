"""Vietnam's provinces before and after the 2025 reorganisation (Nghị quyết 202/2025/QH15,
in force 2025-07-01: 63 provinces became 34). Letters keep using old names for years, so
every name found is mapped to the province that holds that territory today.

No maintained package on PyPI carries the 2025 mapping, so the table lives here.
"""

from __future__ import annotations

import re

from .text import fold

# today's province -> the pre-2025 provinces merged into it (itself first)
MERGERS: dict[str, list[str]] = {
    "Hà Nội": ["Hà Nội"],
    "Huế": ["Huế", "Thừa Thiên Huế"],
    "Lai Châu": ["Lai Châu"],
    "Điện Biên": ["Điện Biên"],
    "Sơn La": ["Sơn La"],
    "Lạng Sơn": ["Lạng Sơn"],
    "Quảng Ninh": ["Quảng Ninh"],
    "Thanh Hóa": ["Thanh Hóa"],
    "Nghệ An": ["Nghệ An"],
    "Hà Tĩnh": ["Hà Tĩnh"],
    "Cao Bằng": ["Cao Bằng"],
    "Tuyên Quang": ["Tuyên Quang", "Hà Giang"],
    "Lào Cai": ["Lào Cai", "Yên Bái"],
    "Thái Nguyên": ["Thái Nguyên", "Bắc Kạn"],
    "Phú Thọ": ["Phú Thọ", "Vĩnh Phúc", "Hòa Bình"],
    "Bắc Ninh": ["Bắc Ninh", "Bắc Giang"],
    "Hưng Yên": ["Hưng Yên", "Thái Bình"],
    "Hải Phòng": ["Hải Phòng", "Hải Dương"],
    "Ninh Bình": ["Ninh Bình", "Hà Nam", "Nam Định"],
    "Quảng Trị": ["Quảng Trị", "Quảng Bình"],
    "Đà Nẵng": ["Đà Nẵng", "Quảng Nam"],
    "Quảng Ngãi": ["Quảng Ngãi", "Kon Tum"],
    "Gia Lai": ["Gia Lai", "Bình Định"],
    "Khánh Hòa": ["Khánh Hòa", "Ninh Thuận"],
    "Lâm Đồng": ["Lâm Đồng", "Đắk Nông", "Bình Thuận"],
    "Đắk Lắk": ["Đắk Lắk", "Phú Yên"],
    "Hồ Chí Minh": ["Hồ Chí Minh", "Bình Dương", "Bà Rịa - Vũng Tàu"],
    "Đồng Nai": ["Đồng Nai", "Bình Phước"],
    "Tây Ninh": ["Tây Ninh", "Long An"],
    "Cần Thơ": ["Cần Thơ", "Sóc Trăng", "Hậu Giang"],
    "Vĩnh Long": ["Vĩnh Long", "Bến Tre", "Trà Vinh"],
    "Đồng Tháp": ["Đồng Tháp", "Tiền Giang"],
    "Cà Mau": ["Cà Mau", "Bạc Liêu"],
    "An Giang": ["An Giang", "Kiên Giang"],
}

# other spellings seen in letters -> canonical pre- or post-2025 name
ALIASES: dict[str, str] = {
    "Thừa Thiên - Huế": "Thừa Thiên Huế",
    "TT Huế": "Thừa Thiên Huế",
    "TT-Huế": "Thừa Thiên Huế",
    "Thành phố Hồ Chí Minh": "Hồ Chí Minh",
    "TP Hồ Chí Minh": "Hồ Chí Minh",
    "TPHCM": "Hồ Chí Minh",
    "TP HCM": "Hồ Chí Minh",
    "HCM": "Hồ Chí Minh",
    "Sài Gòn": "Hồ Chí Minh",
    "Bà Rịa Vũng Tàu": "Bà Rịa - Vũng Tàu",
    "BR-VT": "Bà Rịa - Vũng Tàu",
    "Vũng Tàu": "Bà Rịa - Vũng Tàu",
    "Đắc Lắc": "Đắk Lắk",
    "Đăk Lăk": "Đắk Lắk",
    "Đắk Lăk": "Đắk Lắk",
    "Daklak": "Đắk Lắk",
    "Đăk Nông": "Đắk Nông",
    "Đắc Nông": "Đắk Nông",
    "Kontum": "Kon Tum",
    "Bắc Cạn": "Bắc Kạn",
}

OLD_TO_NEW: dict[str, str] = {old: new for new, olds in MERGERS.items() for old in olds}
CANONICAL = sorted(OLD_TO_NEW)

_KEYS: dict[str, str] = {}
for _name in CANONICAL:
    _KEYS[fold(_name).replace("-", " ")] = _name
for _alias, _name in ALIASES.items():
    _KEYS[fold(_alias).replace("-", " ")] = _name
_KEY_RE = re.compile(
    r"(?<![a-z])(" + "|".join(sorted((re.escape(k).replace(r"\ ", r"[\s\-]*") for k in _KEYS), key=len, reverse=True)) + r")(?![a-z])"
)


def canonical(name: str) -> str | None:
    """The canonical spelling of a province name as written (old or new), or None."""
    key = re.sub(r"[\s\-]+", " ", fold(name)).strip(" .,")
    key = re.sub(r"^(tinh\s+|thanh pho\s+|tp\.?\s*)", "", key)
    return _KEYS.get(key)


def today(name: str) -> str | None:
    """The province that holds this territory after 2025-07-01."""
    c = canonical(name)
    return OLD_TO_NEW.get(c) if c else None


def find_last(text: str) -> str | None:
    """The last province name in a piece of text (an address ends with its province)."""
    folded = re.sub(r"[\s\-]+", " ", fold(text))
    matches = list(_KEY_RE.finditer(folded))
    if not matches:
        return None
    return _KEYS.get(re.sub(r"[\s\-]+", " ", matches[-1].group(1)))
