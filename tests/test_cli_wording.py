"""Every mistake an operator can make on the command line reads as one clear line on
stderr: it names the section, key and expected type, says nothing twice, and leaves no
database file behind where there was none."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import ROOT

SAMPLE = ROOT / "bot" / "sample"
DOUBLED = re.compile(r"\b(\w+)\b[\s:,.]+\b\1\b", re.IGNORECASE)


def one_error(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 2) -> str:
    """Run the command; it must fail with ``code``, print nothing on stdout and exactly
    one line on stderr, and say no word twice in a row."""
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert out == "", out
    assert err.startswith("tapwork: ") and err.count("\n") == 1, err
    assert not DOUBLED.search(err), err
    return err.strip()


@pytest.fixture(autouse=True)
def no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAPWORK_TOKEN", raising=False)


@pytest.mark.parametrize(("text", "expected"), [
    ("[telgram]\ntoken = 'x'\n", "unknown section [telgram] (did you mean [telegram]?)"),
    ("[storage]\npath = 'a.db'\n[strage]\n", "unknown section [strage] (did you mean "
                                             "[storage]?)"),
    ("[telegram]\ntokn = 'x'\n", "unknown key tokn in [telegram] (did you mean token?)"),
    ("token = 'x'\n", "token belongs in the [telegram] section"),
    ("colour = 'red'\n", "unknown key colour outside any section"),
    ("telegram = 3\n", "telegram must be a section ([telegram] with its keys below it), "
                       "not 3"),
    ("[telegram]\nmax_rate = 'fast'\n", "telegram.max_rate must be a number from 0 to 1000, "
                                        "not 'fast'"),
    ("[telegram]\nmax_rate = true\n", "telegram.max_rate must be a number from 0 to 1000, "
                                      "not true"),
    ("[telegram]\nmax_retries = 2.5\n", "telegram.max_retries must be a whole number from 0 "
                                        "to 100, not 2.5"),
    ("[telegram]\nmax_retries = -1\n", "telegram.max_retries must be a whole number from 0 "
                                       "to 100, not -1"),
    ("[storage]\npath = 3\n", "storage.path must be text, not 3"),
    ("[storage]\nthreaded = 'yes'\n", "storage.threaded must be true or false, not text"),
    ("[operators]\nids = 5\n", "operators.ids must be a list, not 5"),
    ("[operators]\nids = ['me']\n", "operators.ids must be a list of Telegram user ids"),
    ("[broadcast]\npaid_rate = -1\n", "broadcast.paid_rate must be a number from 0.01 to "
                                      "1000, not -1"),
    ("[work]\nlease_check_seconds = 0\n", "work.lease_check_seconds must be a number of "
                                          "seconds from 0.01 to 3600, not 0"),
    ("[payouts]\nmin_payout = { USD = 'abc' }\n",
     'payouts.min_payout.USD must be a decimal string from "0" to "1000000" with at most 6 '
     "decimals, not 'abc' (not a decimal number)"),
    ("[payouts]\nmin_payout = { USD = 5 }\n",
     'payouts.min_payout.USD must be a decimal string from "0" to "1000000" with at most 6 '
     "decimals, not 5 (write it in quotes, so it converts exactly)"),
    ("[payouts]\nmin_payout = { usd = '5' }\n",
     "payouts.min_payout: usd is not an ISO 4217 currency code such as USD"),
    ("[payouts]\ndefault_min_payout = '-1'\n", "payouts.default_min_payout must be a decimal "
     "string from \"0\" to \"1000000\" with at most 6 decimals, not '-1' (negative)"),
    ("[telegram\n", "is not valid TOML"),
])
def test_config_mistakes(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                         expected: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    err = one_error(capsys, ["stats", "-c", str(config)])
    assert err.startswith(f"tapwork: {config}: ") or "TOML" in err
    assert expected in err
    assert " ." not in err and "[." not in err  # no stray dot before a key


def test_amounts_are_named_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "tapwork.db"\n')
    err = one_error(capsys, ["bonus", "-c", str(config), "5", "abc", "--reason", "x"])
    assert err == "tapwork: amount 'abc' is not a decimal number"
    project = tmp_path / "p.toml"
    project.write_text((SAMPLE / "reviews.toml").read_text().replace(
        'reward = "0.02"', 'reward = "-1"'))
    err = one_error(capsys, ["project", "-c", str(config), str(project)])
    assert err == (f'tapwork: {project}: reward must be a decimal string from "0" to '
                   f"\"1000000\" with at most 6 decimals, not '-1' (negative)")
    project.write_text((SAMPLE / "reviews.toml").read_text().replace(
        'reward = "0.02"', 'reward = "0.02"\nmin_hourly = "1.0000001"'))
    err = one_error(capsys, ["project", "-c", str(config), str(project)])
    assert err == (f'tapwork: {project}: min_hourly must be a decimal string from "0" to '
                   f"\"1000000\" with at most 6 decimals, not '1.0000001' (more than 6 "
                   "decimals)")
    err = one_error(capsys, ["project", "-c", str(config), str(tmp_path)])
    assert err.startswith(f"tapwork: cannot read project file {tmp_path}: ")


#: every command that reads or changes what exists, on an unknown project where it names one
COMMANDS = [
    ["export", "--project", "nope"],
    ["export", "--project", "nope", "--format", "csv", "-o", "out.csv"],
    ["import", "--project", "nope", str(SAMPLE / "reviews.jsonl")],
    ["stats"],
    ["stats", "--json"],
    ["ledger"],
    ["ledger", "--worker", "5"],
    ["worker", "5", "--suspend", "nope"],
    ["worker", "5", "--reinstate", "nope"],
    ["bonus", "5", "1.00", "--reason", "thanks", "--currency", "USD"],
    ["payouts", "list"],
    ["payouts", "export", "-o", "payouts.csv"],
    ["payouts", "approve", "1"],
    ["broadcast", "nope"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_no_database_is_created_by_a_command_that_only_uses_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "data/tapwork.db"\n')
    err = one_error(capsys, [command[0], "-c", str(config), *command[1:]])
    assert f"there is no database at {tmp_path / 'data' / 'tapwork.db'} yet" in err
    if "nope" in command:
        assert err.startswith("tapwork: no project named nope: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # nothing else


@pytest.mark.parametrize("command", [c for c in COMMANDS if "nope" in c or c[0] == "bonus"],
                         ids=lambda c: " ".join(c[:2]))
def test_unknown_names_in_an_existing_database(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "tapwork.db"\n')
    assert main(["project", "-c", str(config), str(SAMPLE / "reviews.toml")]) == 0
    capsys.readouterr()
    before = sorted(p.name for p in tmp_path.iterdir())
    err = one_error(capsys, [command[0], "-c", str(config), *command[1:]])
    # a worker command names the worker first: no such worker has ever written
    expected = "no worker with id 5" if command[0] in ("worker", "bonus") \
        else "no project named nope"
    assert err == f"tapwork: {expected}"
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no output file either


def test_unwritable_output_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "tapwork.db"\n')
    assert main(["project", "-c", str(config), str(SAMPLE / "reviews.toml")]) == 0
    capsys.readouterr()
    target = tmp_path / "missing" / "labels.jsonl"
    err = one_error(capsys, ["export", "-c", str(config), "--project", "reviews",
                             "-o", str(target)])
    assert err == f"tapwork: cannot write {target}: No such file or directory"
    err = one_error(capsys, ["payouts", "-c", str(config), "export", "-o", str(target)])
    assert err == f"tapwork: cannot write {target}: No such file or directory"
    err = one_error(capsys, ["payouts", "-c", str(config), "approve"])
    assert err == "tapwork: give the payout id: tapwork payouts approve ID"


def test_a_damaged_database_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "tapwork.db"\n')
    (tmp_path / "tapwork.db").write_bytes(b"this is not an SQLite file at all" * 100)
    err = one_error(capsys, ["stats", "-c", str(config)])
    assert err.startswith(f"tapwork: cannot open the database {tmp_path / 'tapwork.db'}: ")


def test_usage_mistakes_go_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["export"])
    out, err = capsys.readouterr()
    assert exit_.value.code == 2 and out == "" and "--project" in err
