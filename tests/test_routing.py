"""The routing table administrators edit: validated whole, with messages naming the fix."""

from __future__ import annotations

import pytest

from petitions.routing import DEFAULT, RoutingError, decide, load

HEADER = """
[departments]
thanh-tra = "Thanh tra tỉnh"
dat-dai = "Đất đai"
khac = "Khác"
"""


def write(tmp_path, body: str):
    p = tmp_path / "routing.toml"
    p.write_text(HEADER + body, encoding="utf-8")
    return p


def test_shipped_default_matches_the_contract():
    t = load(DEFAULT)
    assert t.department("denunciation", "land") == "thanh-tra"
    assert t.department("denunciation", "other") == "thanh-tra"
    assert t.department("complaint", "land") == "dat-dai"
    assert t.department("petition", "environment") == "moi-truong"
    assert t.department("complaint", "investment") == "dau-tu"
    assert t.department("petition", "other") == "tiep-cong-dan"
    assert not t.topic_matters("denunciation") and t.topic_matters("complaint")


def test_unknown_department(tmp_path):
    p = write(tmp_path, '[[routes]]\nletter_type = "*"\ntopic = "*"\ndepartment = "so-xay-dung"\n')
    with pytest.raises(RoutingError, match="unknown department 'so-xay-dung'"):
        load(p)


def test_pair_without_route(tmp_path):
    p = write(tmp_path, '[[routes]]\nletter_type = "denunciation"\ntopic = "*"\ndepartment = "thanh-tra"\n')
    with pytest.raises(RoutingError, match=r"no route for \(complaint, land\)"):
        load(p)


def test_duplicate_rows(tmp_path):
    p = write(
        tmp_path,
        '[[routes]]\nletter_type = "*"\ntopic = "*"\ndepartment = "khac"\n'
        '[[routes]]\nletter_type = "complaint"\ntopic = "land"\ndepartment = "dat-dai"\n',
    )
    with pytest.raises(RoutingError, match=r"route 2: \(complaint, land\) already has a route"):
        load(p)


def test_unknown_label_and_broken_toml(tmp_path):
    p = write(tmp_path, '[[routes]]\nletter_type = "khieu-nai"\ntopic = "*"\ndepartment = "khac"\n')
    with pytest.raises(RoutingError, match="unknown letter_type 'khieu-nai'"):
        load(p)
    p.write_text("[departments\n", encoding="utf-8")
    with pytest.raises(RoutingError, match="not valid TOML"):
        load(p)


def test_edited_table_is_used(tmp_path):
    p = write(tmp_path, '[[routes]]\nletter_type = "*"\ntopic = "*"\ndepartment = "khac"\n')
    assert load(p).department("denunciation", "land") == "khac"


def test_review_decision_reasons():
    t = load(DEFAULT)
    sure_t = {"complaint": 0.98, "denunciation": 0.01, "petition": 0.01}
    sure_c = {"land": 0.97, "environment": 0.01, "investment": 0.01, "other": 0.01}
    d = decide(sure_t, sure_c, t, threshold=0.9, ocr_confidence=91.0, ocr_low=70, text_letters=900)
    assert (d.department, d.needs_review, d.reasons) == ("dat-dai", False, [])
    unsure_c = {"land": 0.55, "environment": 0.40, "investment": 0.03, "other": 0.02}
    d = decide(sure_t, unsure_c, t, threshold=0.9, ocr_confidence=55.0, ocr_low=70, text_letters=900)
    assert d.needs_review and d.reasons == ["ocr_low_confidence", "low_topic_confidence"]
    # A denunciation goes to the inspectorate whatever its topic: topic doubt does not matter.
    denounce = {"complaint": 0.01, "denunciation": 0.98, "petition": 0.01}
    d = decide(denounce, unsure_c, t, threshold=0.9, ocr_confidence=None, ocr_low=70, text_letters=900)
    assert (d.department, d.needs_review) == ("thanh-tra", False)
    d = decide(None, None, t, threshold=0.9, ocr_confidence=None, ocr_low=70, text_letters=3)
    assert d.needs_review and d.reasons == ["no_text", "no_model"]
