"""Petitioner fields from varied date lines, name blocks, address styles and numbers."""

from __future__ import annotations

from datetime import date

import pytest

from petitions.extract import extract, find_letter_date, find_phone, find_id_number
from petitions.provinces import canonical, today


@pytest.mark.parametrize(
    "line, expected",
    [
        ("Hà Nội, ngày 12 tháng 3 năm 2024", date(2024, 3, 12)),
        ("Kim Bảng, ngày 08 tháng 02 năm 2023", date(2023, 2, 8)),
        ("Nghi Phong, ngày 5/7/2023", date(2023, 7, 5)),
        ("Cần Thơ, 15-06-2026", date(2026, 6, 15)),
        ("Lạc Dương, 09/01/2025", date(2025, 1, 9)),
        ("Ngày 05 tháng 01 năm 2026", date(2026, 1, 5)),
        ("TP. Hồ Chí Minh, ngày  3  tháng  11  năm 2025", date(2025, 11, 3)),
        ("Buôn Ma Thuột, ngày 1 tháng 12, năm 2024", date(2024, 12, 1)),
        ("ngày 12.3.2024", date(2024, 3, 12)),
        ("Sơn La, ngày ..... tháng 3 năm 2023", None),
        ("Sơn La, ngày    tháng 3 năm 2023", None),
    ],
)
def test_date_lines(line, expected):
    text = f"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n{line}\n\nĐƠN KIẾN NGHỊ\nNgày 06/01/2023 tôi nhận được Quyết định số 12/QĐ-UBND ngày 21/8/2020."
    assert find_letter_date(text.split("\n")) == expected


def test_dates_in_the_body_are_not_the_letter_date():
    text = "ĐƠN TRÌNH BÀY\nTôi tên là Lê Văn Rớt, sinh ngày 07/3/1989.\nNgày 06/01/2023 tôi nhận được Quyết định số 12/QĐ-UBND ngày 21 tháng 8 năm 2020 của UBND huyện."
    assert find_letter_date(text.split("\n")) is None


def test_date_above_the_signature_counts():
    text = "ĐƠN ĐỀ NGHỊ\nKính gửi: UBND xã\nTôi tên là Bùi Thị Lan.\nXin cảm ơn.\n\nPhú Vang, ngày 20 tháng 8 năm 2025\nNgười làm đơn\nBùi Thị Lan"
    assert find_letter_date(text.split("\n")) == date(2025, 8, 20)


@pytest.mark.parametrize(
    "text, phone",
    [
        ("Số điện thoại: 0975 146 382", "0975146382"),
        ("ĐT: 0975.146.382", "0975146382"),
        ("sđt 0975-146-382", "0975146382"),
        ("Điện thoại: 0168 234 5678", "01682345678"),
        ("CÔNG TY TNHH A\nĐT: 0276 3851 246\nMã số doanh nghiệp: 0101287546\nGiám đốc Lê Văn B, di động 0918 462 735", "0918462735"),
        ("Mã số thuế: 0312345678. Không có điện thoại.", None),
        ("CCCD: 035079003416", None),
    ],
)
def test_phone(text, phone):
    assert find_phone(text) == phone


@pytest.mark.parametrize(
    "text, number",
    [
        ("Số CCCD: 035079003416, cấp ngày 15/4/2021", "035079003416"),
        ("CMND số 164012587 do Công an tỉnh Ninh Bình cấp", "164012587"),
        ("CCCD 035 079 003 416", "035079003416"),
        ("căn cước công dân số: 084.189.006.325", "084189006325"),
        ("Điện thoại 0912345678", None),
    ],
)
def test_id_number(text, number):
    assert find_id_number(text) == number


def test_individual_letter_all_fields():
    text = """CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Kim Bảng, ngày 08 tháng 02 năm 2023

ĐƠN ĐỀ NGHỊ
(V/v xem xét lại việc không cho chuyển mục đích sử dụng đất)

Kính gửi: - Chủ tịch UBND tỉnh Hà Nam
          - Sở Tài nguyên và Môi trường tỉnh Hà Nam

Tôi tên là: Đỗ Văn Hưng, sinh năm 1979
Số CCCD: 035079003416, cấp ngày 15/4/2021
Địa chỉ: xóm 3, thôn Tân Lâm, xã Thanh Sơn, huyện Kim Bảng, tỉnh Hà Nam
Số điện thoại: 0975 146 382

Gia đình tôi sử dụng thửa đất số 187 từ năm 1986."""
    f = extract(text)
    assert f.name == "Đỗ Văn Hưng"
    assert f.address == "xóm 3, thôn Tân Lâm, xã Thanh Sơn, huyện Kim Bảng, tỉnh Hà Nam"
    assert f.province_written == "Hà Nam" and f.province == "Ninh Bình"  # merged on 2025-07-01
    assert f.phone == "0975146382" and f.id_number == "035079003416"
    assert f.letter_date == date(2023, 2, 8)
    assert f.addressee.startswith("Chủ tịch UBND tỉnh Hà Nam")
    assert f.title == "ĐƠN ĐỀ NGHỊ"
    assert f.organization is None


def test_business_letter_organisation_and_director():
    text = """CÔNG TY TNHH CHẾ BIẾN NÔNG SẢN THÀNH PHÁT
Địa chỉ: ấp Trâm Vàng 3, xã Thanh Phước, huyện Gò Dầu, tỉnh Tây Ninh
Mã số doanh nghiệp: 3901287546 - ĐT: 0276 3851 246

Tây Ninh, ngày 14 tháng 4 năm 2023
Kính gửi: Ủy ban nhân dân tỉnh Tây Ninh

Công ty TNHH Chế biến Nông sản Thành Phát là nhà đầu tư dự án nhà máy.
Người đại diện theo pháp luật: ông Huỳnh Quốc Thái, chức vụ Giám đốc, điện thoại 0918 462 735.

GIÁM ĐỐC
Huỳnh Quốc Thái"""
    f = extract(text)
    assert f.organization == "Công ty TNHH Chế biến Nông sản Thành Phát"
    assert f.name == "Huỳnh Quốc Thái"
    assert f.phone == "0918462735"
    assert f.province == "Tây Ninh"


@pytest.mark.parametrize(
    "text, name, province_written, province_now",
    [
        ("Tôi là Phan T. Thu Sương, 57 tuổi, ở thôn Thượng Nghĩa, Cam Hiếu, Cam Lộ, Quảng Trị.\nTôi khiếu nại...", "Phan T. Thu Sương", "Quảng Trị", "Quảng Trị"),
        ("Tui tên Lý Thị Bé Năm, năm nay 61 tuổi, ở khóm 3, phường Bạc Liêu, tỉnh Cà Mau (hồi trước là phường 3).", "Lý Thị Bé Năm", "Cà Mau", "Cà Mau"),
        ("Họ và tên: NGUYỄN VĂN AN\nHộ khẩu thường trú: số 12 ngõ 45 phố Hào Nam, phường Ô Chợ Dừa, quận Đống Đa, TP. Hà Nội", "Nguyễn Văn An", "Hà Nội", "Hà Nội"),
        ("Người tố cáo: Y Bhiêt Niê\nTrú tại: buôn Ko Siêr, xã Hòa Thắng, TP Buôn Ma Thuột, tỉnh Đắk Lắk", "Y Bhiêt Niê", "Đắk Lắk", "Đắk Lắk"),
        ("Chúng tôi là một số hộ dân thôn Đồng Du, xã Đồng Du, huyện Bình Lục, tỉnh Hà Nam. Vì sợ bị trù dập", None, "Hà Nam", "Ninh Bình"),
        ("Tôi là Võ Thanh Hùng, ở ấp Phước Hậu, xã Hương Mỹ, tỉnh Vĩnh Long.", "Võ Thanh Hùng", "Vĩnh Long", "Vĩnh Long"),
        ("Tên tôi là Thạch Thị Sa Rết, ngụ tại ấp Sóc Chuối, xã Đa Lộc, huyện Châu Thành, tỉnh Trà Vinh", "Thạch Thị Sa Rết", "Trà Vinh", "Vĩnh Long"),
        ("Địa chỉ: 118/27 Lê Đức Thọ, phường 6, quận Gò Vấp, TP.HCM\nNgười làm đơn: Trần Minh Tú", "Trần Minh Tú", "Hồ Chí Minh", "Hồ Chí Minh"),
    ],
)
def test_names_and_address_styles(text, name, province_written, province_now):
    f = extract(text)
    assert f.name == name
    assert f.province_written == province_written
    assert f.province == province_now


def test_missing_fields_are_null_not_guessed():
    f = extract("Kính gửi: Thanh tra tỉnh\nTrạm trộn bê tông gây bụi quá nhiều, đề nghị kiểm tra.\nMột nhóm công dân")
    assert (f.name, f.address, f.province, f.phone, f.id_number, f.letter_date) == (None,) * 6


def test_province_names_old_new_and_aliases():
    assert canonical("tỉnh Đăk Lăk") == "Đắk Lắk"
    assert canonical("TP.HCM") == "Hồ Chí Minh"
    assert today("Bến Tre") == "Vĩnh Long"
    assert today("Kon Tum") == "Quảng Ngãi"
    assert today("Hà Nội") == "Hà Nội"
    assert today("Atlantis") is None
