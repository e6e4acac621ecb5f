"""Stored text says what the letter says; only whitespace and page-width breaks change."""

from __future__ import annotations

from petitions.text import clean_text, fold, normalize, segment


def test_nfc_whitespace_and_nothing_reworded():
    raw = "Kính  gửi:\tUBND   xã\r\nTôi  tên là Nguyễn Văn A\u200b.\n\n\n\nXin cảm ơn"
    nfd = "Hoa\u0300 Bi\u0300nh"  # decomposed accents, as some scanners' text layers have
    assert clean_text(raw) == "Kính gửi: UBND xã\nTôi tên là Nguyễn Văn A.\n\nXin cảm ơn"
    assert clean_text(nfd) == "Hoà Bình"  # NFC, but the writer's tone placement is kept


def test_lines_broken_by_the_page_width_are_joined():
    page = "\n".join(
        [
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            "Tôi là Võ Thanh Hùng, sinh năm 1975, ở ấp Phước Hậu, xã Phước Hiệp, huyện Mỏ Cày Nam, tỉnh",
            "Bến Tre. Tôi viết đơn này để đề nghị các cơ quan chức năng kiểm tra cơ sở sơ chế xơ dừa",
            "Thành Lợi gây ô nhiễm nặng nề cho bà con trong ấp từ giữa năm 2024 đến nay, nước thải đen",
            "ngòm chảy ra kênh.",
            "Kính gửi:",
            "- UBND tỉnh",
        ]
    )
    out = clean_text(page).split("\n")
    assert out[0] == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" and out[1] == "Độc lập - Tự do - Hạnh phúc"
    assert out[2].startswith("Tôi là Võ Thanh Hùng") and "tỉnh Bến Tre. Tôi viết" in out[2] and out[2].endswith("kênh.")
    assert out[3:] == ["Kính gửi:", "- UBND tỉnh"]
    # a typed .txt keeps its own line breaks
    typed = "Tôi ở ấp Phước Hậu, xã Phước Hiệp, tỉnh\nBến Tre"
    assert clean_text(typed, page_wrapped=False) == "Tôi ở ấp Phước Hậu, xã Phước Hiệp, tỉnh Bến Tre"  # a dangling "tỉnh" still joins
    assert clean_text("Kính gửi: Ban Tiếp công dân tỉnh\nĐồng kính gửi: Thanh tra tỉnh").count("\n") == 1


def test_normalised_form_and_segmentation_are_derived_not_shown():
    assert normalize("Thuỷ lợi Hoà Bình") == "thủy lợi hòa bình"
    assert segment("ủy ban nhân dân xã hòa bình") [-1] == "hòa_bình"
    assert fold("Đắk Lắk") == "dak lak"
