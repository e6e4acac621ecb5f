"""Legal deadlines counted on the real Vietnamese calendar of the `holidays` package (no mocks).

Expected dates are computed by hand in the comments: the day of receipt is not counted
(Civil Code 2015 Art. 147), a calendar-day period ending on a day of rest moves to the next
working day (Art. 148), a working-day period counts working days only.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from petitions.deadlines import DEFAULT, LETTER_TYPES, Calendar, DeadlineConfigError, load

D = date

# A test table: the same shape as the shipped one, numbers chosen per test.
RULE = """
[[rules]]
effective_from = "{since}"
[[rules.complaint]]
name = "xu-ly-don"
days = {complaint}
unit = "days"
[[rules.denunciation]]
name = "xu-ly-ban-dau"
days = {denunciation}
unit = "{denunciation_unit}"
[[rules.petition]]
name = "xu-ly-don"
days = 10
unit = "days"
"""


def rule(since="2000-01-01", complaint=10, denunciation=7, denunciation_unit="working_days") -> str:
    return RULE.format(since=since, complaint=complaint, denunciation=denunciation, denunciation_unit=denunciation_unit)


def write(tmp_path, text: str):
    p = tmp_path / "deadlines.toml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def table():
    return load(None)


def test_shipped_default_numbers(table):
    assert table.source == DEFAULT
    assert len(table.rules) == 1, "the commented 2026-07-01 example must not be active"
    (r,) = table.rules
    assert r.effective_from == D(2000, 1, 1)
    summary = {t: [(s.name, s.days, s.unit) for s in steps] for t, steps in r.steps.items()}
    assert summary == {
        "complaint": [("xu-ly-don", 10, "days")],
        "denunciation": [("xu-ly-ban-dau", 7, "working_days")],
        "petition": [("xu-ly-don", 10, "days")],
    }
    assert table.calendar.extra_holidays == frozenset() and table.calendar.extra_working_days == frozenset()


def test_letter_types_match_the_classifier():
    from petitions.classify import LETTER_TYPES as CLASSIFIER_TYPES

    assert list(LETTER_TYPES) == CLASSIFIER_TYPES


def test_tet_2026(table):
    # holidays 0.109 gives Tết Bính Ngọ 2026 as Mon 16 Feb (Giao thừa) .. Fri 20 Feb (Mùng bốn);
    # with the weekends around it, 14-22 Feb are all days of rest, Mon 23 Feb is the next working day.
    cal = table.calendar
    assert [cal.is_working_day(D(2026, 2, d)) for d in range(13, 24)] == [True] + [False] * 9 + [True]
    # Complaint received Fri 6 Feb: +10 days = Mon 16 Feb, Giao thừa -> Mon 23 Feb.
    assert table.deadline("complaint", D(2026, 2, 6)) == D(2026, 2, 23)
    # Denunciation received Tue 10 Feb: working days 11, 12, 13 Feb (1-3), Tết, then 23, 24, 25, 26 Feb (4-7).
    assert table.deadline("denunciation", D(2026, 2, 10)) == D(2026, 2, 26)


def test_tet_2027(table):
    # holidays 0.109 gives Tết Đinh Mùi 2027 (Mùng một = Sat 6 Feb) as Thu 4 Feb (29 Tết, making up
    # for the Saturday) .. Wed 10 Feb (Mùng năm, making up for the Sunday): 4-10 Feb are days of rest.
    cal = table.calendar
    assert [cal.is_working_day(D(2027, 2, d)) for d in range(3, 12)] == [True] + [False] * 7 + [True]
    # Complaint received Tue 26 Jan: +10 days = Fri 5 Feb (Giao thừa) -> Thu 11 Feb.
    assert table.deadline("complaint", D(2027, 1, 26)) == D(2027, 2, 11)
    # Received Sun 24 Jan: +10 days = Wed 3 Feb, still a working day before the break: unchanged.
    assert table.deadline("complaint", D(2027, 1, 24)) == D(2027, 2, 3)


def test_calendar_period_ending_on_a_weekend_moves_to_monday(table):
    # Wed 5 Mar 2025 + 10 days = Sat 15 Mar -> Mon 17 Mar (no holiday in between).
    assert table.deadline("complaint", D(2025, 3, 5)) == D(2025, 3, 17)
    assert table.deadline("petition", D(2025, 3, 5)) == D(2025, 3, 17)
    # Ending on a weekday is not moved: Mon 3 Mar + 10 = Thu 13 Mar.
    assert table.deadline("complaint", D(2025, 3, 3)) == D(2025, 3, 13)


def test_working_days_and_calendar_days_differ_over_the_same_span(tmp_path):
    # 7 days from Wed 5 Mar 2025: calendar -> Wed 12 Mar; working -> 6, 7, 10, 11, 12, 13, 14 = Fri 14 Mar.
    cal = Calendar()
    assert cal.add_days(D(2025, 3, 5), 7) == D(2025, 3, 12)
    assert cal.add_working_days(D(2025, 3, 5), 7) == D(2025, 3, 14)
    # The same through the table: only the unit differs.
    days = load(write(tmp_path, rule(complaint=7, denunciation=7, denunciation_unit="days")))
    working = load(write(tmp_path, rule(complaint=7, denunciation=7, denunciation_unit="working_days")))
    assert days.deadline("denunciation", D(2025, 3, 5)) == D(2025, 3, 12)
    assert working.deadline("denunciation", D(2025, 3, 5)) == D(2025, 3, 14)


def test_substitute_day_for_a_holiday_on_a_weekend(table):
    # 1 May 2027 (Labour Day) is a Saturday; holidays 0.109 gives Mon 3 May 2027 as its substitute day off.
    cal = table.calendar
    assert not cal.is_working_day(D(2027, 5, 3)) and D(2027, 5, 3).weekday() == 0
    # Complaint received Wed 21 Apr 2027: +10 = Sat 1 May -> Sun 2 May -> Mon 3 May (substitute) -> Tue 4 May.
    assert table.deadline("complaint", D(2027, 4, 21)) == D(2027, 5, 4)
    # 30 Apr 2028 is a Sunday, 1 May a Monday: the substitute is Tue 2 May. Received Thu 20 Apr 2028:
    # +10 = Sun 30 Apr -> Mon 1 May (Labour Day) -> Tue 2 May (substitute) -> Wed 3 May.
    assert table.deadline("complaint", D(2028, 4, 20)) == D(2028, 5, 3)


def test_swapped_working_saturday_counts_as_a_working_day(table):
    # The 2026 schedule swaps Sat 22 Aug (worked) for Mon 31 Aug (off, before National Day 1-2 Sep).
    cal = table.calendar
    assert cal.is_working_day(D(2026, 8, 22)) and not cal.is_working_day(D(2026, 8, 31))
    # Denunciation received Wed 19 Aug 2026: 20, 21, 22 (Sat, worked), 24, 25, 26, 27 Aug -> Thu 27 Aug.
    assert table.deadline("denunciation", D(2026, 8, 19)) == D(2026, 8, 27)
    # Received Thu 27 Aug: 28 Aug (1), 31 Aug-2 Sep off, 3, 4, 7, 8, 9, 10 Sep (2-7) -> Thu 10 Sep.
    assert table.deadline("denunciation", D(2026, 8, 27)) == D(2026, 9, 10)


def test_extra_holidays_push_and_extra_working_days_pull(tmp_path):
    # The government adds Thu 11 and Fri 12 Feb 2027 to the Tết break: a complaint received Tue 26 Jan
    # (+10 = Fri 5 Feb, Tết) no longer ends on Thu 11 Feb but on Mon 15 Feb.
    pushed = load(write(tmp_path, '[calendar]\nextra_holidays = ["2027-02-11", 2027-02-12]\n' + rule()))
    assert pushed.deadline("complaint", D(2027, 1, 26)) == D(2027, 2, 15)
    # A working Saturday 15 Mar 2025: Wed 5 Mar + 10 ends on it instead of Mon 17 Mar.
    pulled = load(write(tmp_path, '[calendar]\nextra_working_days = ["2025-03-15"]\n' + rule()))
    assert pulled.deadline("complaint", D(2025, 3, 5)) == D(2025, 3, 15)
    # ...and it counts as a working day: from Thu 13 Mar, 14 (1), 15 (2, Sat worked), 17 (3).
    assert pulled.calendar.add_working_days(D(2025, 3, 13), 3) == D(2025, 3, 17)
    assert Calendar().add_working_days(D(2025, 3, 13), 3) == D(2025, 3, 18)


def test_a_later_rule_applies_from_its_effective_date(tmp_path):
    # Listed newest first on purpose: the order in the file does not matter.
    t = load(write(tmp_path, rule(since="2026-07-01", complaint=15) + rule(since="2000-01-01", complaint=10)))
    assert [r.effective_from for r in t.rules] == [D(2000, 1, 1), D(2026, 7, 1)]
    # Received Tue 30 Jun 2026, old rule: +10 = Fri 10 Jul.
    assert t.deadline("complaint", D(2026, 6, 30)) == D(2026, 7, 10)
    # Received Wed 1 Jul 2026, new rule: +15 = Thu 16 Jul (the old rule would give Sat 11 -> Mon 13 Jul).
    assert t.deadline("complaint", D(2026, 7, 1)) == D(2026, 7, 16)
    # Before the first rule there is nothing to count.
    assert t.deadline("complaint", D(1999, 12, 31)) is None


def test_steps_are_chained(tmp_path):
    two_steps = rule().replace(
        '[[rules.denunciation]]', '[[rules.complaint]]\nname = "thu-ly"\ndays = 10\nunit = "days"\n[[rules.denunciation]]'
    )
    t = load(write(tmp_path, two_steps))
    assert [s.name for s in t.rules[0].steps["complaint"]] == ["xu-ly-don", "thu-ly"]
    # Wed 5 Mar 2025 + 10 = Sat 15 -> Mon 17 Mar; Mon 17 + 10 = Thu 27 Mar (not 20 days straight = Tue 25 Mar).
    assert t.deadline("complaint", D(2025, 3, 5)) == D(2025, 3, 27)


def test_unknown_or_missing_type_has_no_deadline(table):
    assert table.deadline(None, D(2025, 3, 5)) is None
    assert table.deadline("khieu-nai", D(2025, 3, 5)) is None


def test_calendar_rejects_impossible_periods_and_contradictions():
    with pytest.raises(ValueError, match="whole number of days >= 1"):
        Calendar().add_days(D(2025, 3, 5), 0)
    with pytest.raises(ValueError, match="whole number of days >= 1"):
        Calendar().add_working_days(D(2025, 3, 5), -1)
    with pytest.raises(ValueError, match="2025-03-15 is both"):
        Calendar([D(2025, 3, 15)], [D(2025, 3, 15)])


def test_commented_example_loads_once_filled_in(tmp_path):
    text = DEFAULT.read_text(encoding="utf-8")
    example = text[text.index("\n# [[rules]]\n") + 1:]  # the commented example, to the end
    uncommented = "\n".join(re.sub(r"^# ?", "", line) for line in example.splitlines())
    # Left as shipped, the placeholders stop the load instead of being taken as numbers.
    with pytest.raises(DeadlineConfigError, match="not valid TOML"):
        load(write(tmp_path, text + "\n" + uncommented))
    filled = re.sub(r"days = <[^>]*>", "days = 12", uncommented)
    t = load(write(tmp_path, text + "\n" + filled))
    assert [r.effective_from for r in t.rules] == [D(2000, 1, 1), D(2026, 7, 1)]
    # Wed 1 Jul 2026 + 12 = Mon 13 Jul under the example; Tue 30 Jun keeps 10 days: Fri 10 Jul.
    assert t.deadline("complaint", D(2026, 7, 1)) == D(2026, 7, 13)
    assert t.deadline("complaint", D(2026, 6, 30)) == D(2026, 7, 10)


BAD = [
    # (what, file text, message fragments: the entry and the fix)
    ("unknown unit", rule(denunciation_unit="workdays"),
     ["rule 1 (effective_from 2000-01-01), denunciation step 1 'xu-ly-ban-dau'", "unknown unit 'workdays'", '"working_days"']),
    ("negative days", rule(complaint=-3),
     ["rule 1 (effective_from 2000-01-01), complaint step 1 'xu-ly-don'", "days = -3", "days = 10"]),
    ("zero days", rule(complaint=0), ["complaint step 1", "days = 0 is not a whole number of days >= 1"]),
    ("fractional days", rule(complaint=2.5), ["complaint step 1", "days = 2.5"]),
    ("bad date", rule(since="2026-13-01"),
     ["rule 1 effective_from", "'2026-13-01' is not a date", '"YYYY-MM-DD"']),
    ("date with a time", rule().replace('"2000-01-01"', "2000-01-01T00:00:00"), ["rule 1 effective_from", "is not a date"]),
    ("missing effective_from", rule().replace('effective_from = "2000-01-01"', ""),
     ["rule 1", 'missing effective_from; add effective_from = "YYYY-MM-DD"']),
    ("unknown letter type", rule() + '[[rules.khieu-nai]]\nname = "x"\ndays = 1\nunit = "days"\n',
     ["rule 1 (effective_from 2000-01-01)", "unknown letter type 'khieu-nai'", "complaint, denunciation, petition"]),
    ("missing types", '[[rules]]\neffective_from = "2000-01-01"\n[[rules.complaint]]\nname = "x"\ndays = 1\nunit = "days"\n',
     ["rule 1 (effective_from 2000-01-01)", "no steps for denunciation, petition", "[[rules.denunciation]]"]),
    ("missing step key", rule().replace('unit = "days"\n[[rules.denunciation]]', "[[rules.denunciation]]"),
     ["complaint step 1", "missing unit"]),
    ("misspelt step key", rule().replace("days = 10\nunit", "day = 10\nunit", 1), ["complaint step 1", "unknown key 'day'"]),
    ("no rules", '[calendar]\nextra_holidays = []\n', ["at least one [[rules]] entry"]),
    ("same effective_from twice", rule() + rule(), ["rule 2", "effective_from 2000-01-01 is also rule 1's"]),
    ("bad extra holiday", '[calendar]\nextra_holidays = ["11/02/2027"]\n' + rule(),
     ["[calendar] extra_holidays", "'11/02/2027' is not a date"]),
    ("both extra lists", '[calendar]\nextra_holidays = ["2027-02-11"]\nextra_working_days = [2027-02-11]\n' + rule(),
     ["[calendar]", "2027-02-11 is listed in both extra_holidays and extra_working_days"]),
    ("misspelt top-level key", '[[rule]]\neffective_from = "2000-01-01"\n' + rule(), ["unknown key 'rule'"]),
    ("broken TOML", "[[rules]\n", ["is not valid TOML"]),
]


@pytest.mark.parametrize("what,text,fragments", BAD, ids=[b[0] for b in BAD])
def test_invalid_table_names_file_entry_and_fix(tmp_path, what, text, fragments):
    p = write(tmp_path, text)
    with pytest.raises(DeadlineConfigError) as e:
        load(p)
    message = str(e.value)
    assert message.startswith(str(p)), message
    for fragment in fragments:
        assert fragment in message, message
    assert e.value.exit_code == 7


def test_missing_file(tmp_path):
    with pytest.raises(DeadlineConfigError, match="does not exist"):
        load(tmp_path / "nowhere.toml")
