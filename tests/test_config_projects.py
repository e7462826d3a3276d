"""Config and project files: good ones load, bad ones get one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_config
from bot.domain.errors import ConfigError, ProjectError
from bot.domain.money import format_money, parse_amount
from bot.domain.projects import parse_project
from tests.conftest import ROOT, sentiment_doc


def test_example_config_loads_and_resolves_db_next_to_it() -> None:
    config = load_config(ROOT / "config.example.toml")
    assert config.telegram.max_rate == 30
    assert Path(config.storage.path) == ROOT / "tapwork.db"


def test_token_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "c.toml"
    file.write_text('[telegram]\ntoken = "from-file"\n')
    monkeypatch.setenv("TAPWORK_TOKEN", "from-env")
    assert load_config(file).telegram.token == "from-env"


@pytest.mark.parametrize(("text", "expected"), [
    ("[telegram\n", "is not valid TOML"),
    ("[storage]\npath = 3\n", "storage.path must be text, not 3"),
    ("[operators]\nids = ['x']\n", "operators.ids must be a list"),
    ("[telegram]\ntokn = 'x'\n", r"unknown key tokn in \[telegram\] \(did you mean token\?\)"),
    ("[telegram]\nmax_rate = true\n", "telegram.max_rate must be a number from 0 to 1000, "
                                      "not true"),
])
def test_bad_config_names_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    file = tmp_path / "c.toml"
    file.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_config(file)


def test_cli_reports_config_problems_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("TAPWORK_TOKEN", raising=False)
    assert main(["stats", "-c", str(tmp_path / "missing.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tapwork: config file") and "not found" in err
    assert "\n" not in err
    file = tmp_path / "c.toml"
    file.write_text(f'[storage]\npath = "{tmp_path / "t.db"}"\n')
    assert main(["run", "-c", str(file)]) == 2
    assert "no Telegram token" in capsys.readouterr().err


def test_project_defaults_and_localized_texts() -> None:
    spec = parse_project(sentiment_doc(title={"en": "Reviews", "ko": "리뷰"}))
    assert spec.label_values == ("positive", "neutral", "negative")
    assert spec.overlap == 3 and spec.lease_minutes == 10
    assert spec.reward_micros == 20_000
    assert spec.title.get("ko") == "리뷰" and spec.title.get("zh") == "Reviews"


@pytest.mark.parametrize(("changes", "expected"), [
    ({"name": "has space"}, "name must be"),
    ({"kind": "poll"}, "kind must be"),
    ({"kind": "classification"}, "needs labels"),
    ({"kind": "classification", "labels": ["only"]}, "2 to 12"),
    ({"kind": "classification", "labels": [str(i) for i in range(13)]}, "2 to 12"),
    ({"kind": "classification", "labels": ["a", "a"]}, "appears twice"),
    ({"kind": "transcription", "labels": ["a", "b"]}, "no labels"),
    ({"reward": 0.02}, "decimal string"),
    ({"reward": "0.0000001"}, "more than 6 decimals"),
    ({"reward": "-1"}, "negative"),
    ({"reward": "abc"}, "not a decimal"),
    ({"currency": "XXQ"}, "ISO 4217"),
    ({"overlap": 0}, "overlap must be"),
    ({"colour": "red"}, "unknown key 'colour'"),
    ({"title": {"fr": "Avis"}}, "must be one of en, ko, zh"),
])
def test_bad_projects_are_refused(changes: dict[str, object], expected: str) -> None:
    with pytest.raises(ProjectError, match=expected):
        parse_project(sentiment_doc(**changes))


def test_classification_labels_with_names() -> None:
    spec = parse_project(sentiment_doc(kind="classification", labels=[
        "cat", {"value": "dog", "names": {"en": "Dog", "ko": "개", "zh": "狗"}}]))
    assert spec.label_values == ("cat", "dog")
    assert spec.labels[1].names.get("zh") == "狗"


def test_money_is_exact_and_locale_formatted() -> None:
    assert parse_amount("0.02") == 20_000
    assert parse_amount("1.000001") == 1_000_001
    assert parse_amount("12") == 12_000_000
    assert format_money(20_000, "USD", "en") == "$0.02"
    assert format_money(1_500, "USD", "en") == "$0.0015"  # never rounded to zero
    assert "₩" in format_money(50_000_000, "KRW", "ko")
