"""The routines file: validation messages a family member can act on, and the check command."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from pathlib import Path

import pytest

from companion.cli.main import main
from companion.routines.file import ROUTINE_KINDS, RoutinesFileError, load_routines, parse_routines

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "routines.toml"
MISTAKES = Path(__file__).parent / "data" / "routines-mistakes.toml"


def problems_of(text: str) -> list:
    with pytest.raises(RoutinesFileError) as info:
        parse_routines(text, source="t.toml")
    return info.value.problems


def test_example_file_is_valid_and_covers_every_kind():
    rf = load_routines(EXAMPLE)
    assert {r.kind for r in rf.routines} == set(ROUTINE_KINDS)
    assert rf.quiet is not None and rf.quiet.start == time(22, 0) and rf.quiet.end == time(7, 30)
    pill = next(r for r in rf.routines if r.text("name") == "blood-pressure tablet")
    assert pill.times == (time(8, 0), time(20, 0)) and pill.days == frozenset(range(7))
    physio = next(r for r in rf.routines if r.text("with") == "the physiotherapist")
    assert physio.days == frozenset({3}) and physio.notice == timedelta(days=1)
    # every routine block in the file was read (none silently dropped)
    blocks = re.findall(r"^\[\[(\w+)\]\]", EXAMPLE.read_text(), flags=re.M)
    assert len(blocks) == len(rf.routines)


def test_ten_typical_mistakes_give_ten_clear_messages_on_the_right_lines():
    text = MISTAKES.read_text()
    marked = [no for no, line in enumerate(text.splitlines(), 1) if "# mistake" in line]
    assert len(marked) == 10
    problems = problems_of(text)
    assert sorted(p.line for p in problems) == marked
    for p in problems:
        message = str(p)
        assert message.startswith(f"line {p.line}: ")
        # says what to write instead: an example in quotes, a number, or a list of choices
        assert re.search(r'(write|add|use|did you mean)', message), message
        assert re.search(r'"[^"]+"|= \d+|\[\[', message), message


def test_messages_name_the_field_the_value_and_the_fix():
    by_line = {p.line: str(p) for p in problems_of(MISTAKES.read_text())}
    assert "time '8.00'" in by_line[11] and 'write it as "08:00"' in by_line[11]
    assert "'8pm'" in by_line[16] and '"20:00"' in by_line[16]
    assert "'10pm'" in by_line[5] and '"22:00"' in by_line[5]
    assert "did you mean dose?" in by_line[10]
    assert 'did you mean "thu"?' in by_line[17]
    assert "did you mean [[medication]]?" in by_line[19]
    assert '"2026-12-03" if you meant 3 December' in by_line[28]
    assert 'notice = "1 day"' in by_line[30]
    assert "has no question" in by_line[23]


def test_several_problems_in_one_block_are_all_reported():
    text = '[[medication]]\nname = "x"\ntime = "25:00"\ndays = "someday"\nurgent = "yes"\n'
    problems = problems_of(text)
    assert [(p.line, p.where.split(", ")[-1]) for p in problems] == [(3, "time"), (4, "days"), (5, "urgent")]


def test_value_in_a_list_over_several_lines_points_at_its_own_line():
    text = '[[medication]]\nname = "x"\ntimes = [\n  "08:00",\n  "12.30",\n]\n'
    (p,) = problems_of(text)
    assert p.line == 5 and '"12:30"' in str(p)


def test_toml_syntax_error_gets_a_friendly_line_message():
    text = '[[medication]]\nname = "x"\ntime = 8:00\n'
    (p,) = problems_of(text)
    assert p.line == 3
    assert 'time = "08:00"' in str(p)
    (p,) = problems_of('[[checkin]]\nquestion = "How are you?\ntime = "09:00"\n')
    assert p.line == 2


def test_single_brackets_and_duplicates_are_explained():
    problems = problems_of('[activity]\nsuggest = "Water?"\ntime = "11:00"\n')
    assert "double brackets" in str(problems[0]) and problems[0].line == 1
    twice = '[[activity]]\nsuggest = "Water?"\ntime = "11:00"\n\n[[activity]]\nsuggest = "Water?"\ntime = "11:00"\n'
    (p,) = problems_of(twice)
    assert p.line == 5 and "repeats line 1" in str(p)


def test_friendly_spellings_are_accepted():
    rf = parse_routines('[[activity]]\nsuggest = "Walk?"\ntime = "15:00"\ndays = ["Monday", "thu"]\n'
                        '[[reminder]]\nwhat = "bins"\ntimes = "19:00"\ndays = "weekends"\n'
                        '[[checkin]]\nquestion = "Hi?"\ntime = 09:00:00\ndays = "everyday"\n')
    walk, bins, hi = rf.routines
    assert walk.days == frozenset({0, 3}) and bins.days == frozenset({5, 6})
    assert hi.times == (time(9, 0),) and hi.days == frozenset(range(7))


def test_impossible_date_and_past_date():
    (p,) = problems_of('[[reminder]]\nwhat = "x"\ntime = "10:00"\ndate = "2027-02-30"\n')
    assert "does not exist" in str(p)
    rf = parse_routines('[[reminder]]\nwhat = "x"\ntime = "10:00"\ndate = "2027-02-03"\n', today=date(2027, 3, 1))
    assert len(rf.warnings) == 1 and "in the past" in str(rf.warnings[0])


def test_time_inside_quiet_hours_is_a_note_not_an_error():
    rf = parse_routines('[quiet_hours]\nfrom = "22:00"\nuntil = "07:00"\n'
                        '[[medication]]\nname = "late pill"\ntime = "23:00"\n')
    assert len(rf.routines) == 1
    (w,) = rf.warnings
    assert w.warning and "waits until 07:00" in str(w) and "urgent = true" in str(w)


def test_message_ids_are_stable_and_change_with_the_text():
    a = parse_routines('[[message]]\nfrom = "Susan"\ntext = "Hello"\n').routines[0]
    b = parse_routines('# a comment\n[[message]]\nfrom = "Susan"\ntext = "Hello"\n').routines[0]
    c = parse_routines('[[message]]\nfrom = "Susan"\ntext = "Hello again"\n').routines[0]
    assert a.id == b.id != c.id


def test_check_command_passes_on_the_example(capsys, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[routines]\ntimezone = "Europe/London"\n')
    assert main(["--config", str(config), "routines", "check", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "OK — 13 routines" in out and "Europe/London" in out


def test_check_command_lists_every_mistake(capsys, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[routines]\nfile = "{MISTAKES}"\n')
    assert main(["--config", str(config), "routines", "check"]) == 1
    out = capsys.readouterr().out
    assert "10 problem(s)" in out
    assert len([line for line in out.splitlines() if re.match(r"\s+line \d+: ", line)]) == 10


def test_check_command_reports_a_bad_time_zone(capsys, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[routines]\ntimezone = "London"\n')
    assert main(["--config", str(config), "routines", "check", str(EXAMPLE)]) == 2  # refused at the door
    assert 'config.toml:2: [routines] timezone: \'London\' is not a known time zone (did you mean "Europe/London"?)' \
        in capsys.readouterr().err


def test_upcoming_command_lists_local_times_across_the_clock_change(capsys, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[routines]\nfile = "{EXAMPLE}"\ntimezone = "Europe/London"\n')
    assert main(["--config", str(config), "routines", "upcoming", "--from", "2027-03-27T07:00", "--hours", "26"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"Sat 27 Mar 08:00\s+medication\s+blood-pressure tablet", out)
    assert re.search(r"Sun 28 Mar 08:00\s+medication\s+blood-pressure tablet", out)
    assert re.search(r"Sat 27 Mar 10:30\s+activity", out)
    assert "next conversation" in out
