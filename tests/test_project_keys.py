"""Project files and config numbers: every key has a type, a range and a length, and
anything else is refused with one line naming the key and what it may be (issue 11).

The table in ``bot.domain.project_keys.KEYS`` (and ``bot.config.RULES``) is the one source: the
README's tables and the sample project's comments are checked against it here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import RULES, parse_config
from bot.domain.errors import ConfigError, ProjectError
from bot.domain.limits import MAX_AMOUNT, ExactShare, Money, Number, Whole
from bot.domain.project_keys import KEYS, KIND_KEYS, Texts, keys_table
from bot.domain.projects import parse_project
from tests.conftest import OPERATOR_ID, ROOT, Running, sentiment_doc
from tests.state import project_count

README = (ROOT / "README.md").read_text("utf-8")
SAMPLE = ROOT / "bot" / "sample" / "reviews.toml"
INF, NAN = float("inf"), float("nan")


def doc(key: str, value: Any, **extra: Any) -> dict[str, Any]:
    """A good sentiment project with one key (``quiz.pass``: inside its table) set; a key
    only one kind takes (``iou``: boxes) is set in a project of that kind."""
    document = sentiment_doc(**extra)
    if key in KIND_KEYS:
        document.update(kind=KIND_KEYS[key], labels=["person"] if KIND_KEYS[key] == "boxes"
                        else None)
        document = {k: v for k, v in document.items() if v is not None}
        if key == "min_points":
            document["max_points"] = 100
    if key.startswith("labels[]"):
        document.update(kind="classification", labels=[
            "a", {"value": value, "names": "B"} if key.endswith("value")
            else {"value": "b", "names": value}])
    elif "." in key:
        table, short = key.split(".")
        document[table] = {short: value}
    else:
        document[key] = value
    return document


def refused(document: dict[str, Any]) -> str:
    with pytest.raises(ProjectError) as caught:
        parse_project(document)
    message = str(caught.value)
    assert "\n" not in message
    return message


# -- the values the attack found accepted ----------------------------------------

ATTACKS = [
    ("auto_approve_hours", 1e300, "from 0.1 to 8760"),
    ("auto_approve_hours", INF, "from 0.1 to 8760"),
    ("auto_approve_hours", NAN, "from 0.1 to 8760"),
    ("quiz.cooldown_hours", INF, "from 0 to 8760"),
    ("min_seconds", NAN, "from 0 to 3600"),
    ("title", "x" * 10_000, "1 to 120 characters, not 10000 characters"),
    ("instructions", "x" * 5_000, "1 to 1000 characters"),
    ("labels[].names", "n" * 10_000, "1 to 64 characters"),
    ("labels[].names", {"ko": "n" * 65}, "1 to 64 characters"),
    ("reward", "99999999999999", 'from "0" to "1000000"'),
    ("reward", "9223372036854", 'from "0" to "1000000"'),
    ("min_hourly", "9" * 20, 'from "0" to "1000000"'),
    ("skill_bonus.percent", 1000, "from 0 to 100"),
    ("discount", "1e-30", "from 0 to 1 with at most 6 decimals"),
    ("discount", 1e-30, "from 0 to 1 with at most 6 decimals"),
    ("discount", "0.3333333", "from 0 to 1 with at most 6 decimals"),
]


@pytest.mark.parametrize(("key", "value", "allowed"), ATTACKS,
                         ids=[f"{k}={str(v)[:12]}" for k, v, _ in ATTACKS])
def test_each_attack_is_refused_in_one_line_naming_key_and_range(key: str, value: Any,
                                                                  allowed: str) -> None:
    message = refused(doc(key, value))
    assert message.startswith(key.replace("labels[]", "labels[2]")), message
    assert allowed in message, message
    assert len(message) < 200, message  # never the 10,000 characters themselves


#: every key read as a number, and the values no number may have
NUMBER_KEYS = [name for name, key in KEYS.items() if isinstance(key.rule, Number)]


@pytest.mark.parametrize("value", [INF, -INF, NAN, 1e300, -1e300])
@pytest.mark.parametrize("key", NUMBER_KEYS)
def test_no_number_may_be_infinite_nan_or_huge(key: str, value: float) -> None:
    message = refused(doc(key, value))
    assert message.startswith(f"{key} must be a number"), message


@pytest.mark.parametrize("key", [name for name, key in KEYS.items()
                                 if isinstance(key.rule, Whole | Number)])
def test_every_range_is_inclusive_and_nothing_beyond_it_passes(key: str) -> None:
    rule = KEYS[key].rule
    assert isinstance(rule, Whole | Number)
    step = 1 if isinstance(rule, Whole) else 0.001
    extra: dict[str, Any] = {"max_overlap": {"overlap": 1},
                             "min_overlap": {"overlap": 50, "max_overlap": 50}}.get(key, {})
    for good in (rule.low, rule.high):
        parse_project(doc(key, good, **extra))
    for bad in (rule.low - step, rule.high + step):
        assert refused(doc(key, bad, **extra)).startswith(key)
    if isinstance(rule, Whole):
        assert "whole number" in refused(doc(key, rule.low + 0.5, **extra))


@pytest.mark.parametrize("key", ["reward", "min_hourly"])
def test_amounts_stop_at_one_million_major_units(key: str) -> None:
    assert parse_project(doc(key, "1000000")).raw[key] == "1000000"
    assert refused(doc(key, "1000000.000001")).startswith(f"{key} must be a decimal string")
    spec = parse_project(doc(key, "1000000"))
    assert MAX_AMOUNT in (spec.reward_micros, spec.min_hourly_micros)


def test_max_overlap_names_its_own_range() -> None:
    assert "from 3 to 50 (at least overlap, 3)" in refused(doc("max_overlap", 2, overlap=3))


def test_min_overlap_is_at_most_overlap_and_defaults_to_it() -> None:
    assert refused(doc("min_overlap", 4, overlap=3)) == (
        "min_overlap must be a whole number from 1 to 3 (at most overlap, 3), not 4")
    assert parse_project(doc("min_overlap", 2, overlap=3)).floor == 2
    assert parse_project(sentiment_doc(overlap=4)).floor == 4


def test_label_values_and_texts_have_lengths() -> None:
    assert parse_project(doc("labels[].value", "v" * 100)).labels[1].value == "v" * 100
    assert refused(doc("labels[].value", "v" * 101)).startswith(
        "labels[2].value must be text of 1 to 100 characters")
    assert refused(doc("title", {"ko": "t" * 121})).startswith("title.ko must be text")
    assert parse_project(doc("title", "t" * 120)).title.get("en") == "t" * 120


#: (text of the sample project, what it becomes, the key named): a top-level key goes
#: before the sample's first table, a table's key after the last
TOP, END = "\n[title]", None
CLI_ATTACKS = [
    (TOP, "auto_approve_hours = 1e300", "auto_approve_hours"),
    (TOP, "auto_approve_hours = inf", "auto_approve_hours"),
    (TOP, "auto_approve_hours = nan", "auto_approve_hours"),
    (TOP, "gold_rate = nan", "gold_rate"),
    (TOP, "confidence = -inf", "confidence"),
    (TOP, "min_seconds = nan", "min_seconds"),
    ('reward = "0.02"', 'reward = "9223372036854"', "reward"),
    ('reward = "0.02"', 'reward = "99999999999999"', "reward"),
    (TOP, f'min_hourly = "{"1" * 20}"', "min_hourly"),
    (TOP, 'discount = "1e-30"', "discount"),
    ('en = "How does this review feel?"', f'en = "{"T" * 10_000}"', "title.en"),
    (END, "[quiz]\ncooldown_hours = inf", "quiz.cooldown_hours"),
    (END, "[skill_bonus]\npercent = 1000", "skill_bonus.percent"),
]


@pytest.mark.parametrize(("old", "new", "key"), CLI_ATTACKS,
                         ids=[new[:30] for _, new, _ in CLI_ATTACKS])
def test_cli_prints_one_line_naming_the_key_and_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str | None, new: str,
        key: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "tapwork.db"\n')
    project = tmp_path / "p.toml"
    body = SAMPLE.read_text("utf-8")
    if old is None:
        body += "\n" + new + "\n"
    else:
        assert old in body
        body = body.replace(old, f"\n{new}{old}" if old == TOP else new, 1)
    project.write_text(body)
    assert main(["project", "-c", str(config), str(project)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"tapwork: {project}: {key} must be"), err
    assert len(err) < 300, err
    if (tmp_path / "tapwork.db").exists():  # nothing was saved
        assert project_count(tmp_path / "tapwork.db") == 0


# -- a document stored by an older version is repaired, never refused -------------------


def test_a_stored_document_out_of_range_is_brought_into_range(
        caplog: pytest.LogCaptureFixture) -> None:
    old = sentiment_doc(reward="9223372036854", auto_approve_hours=INF, min_seconds=None,
                        title="T" * 10_000, quiz={"cooldown_hours": 1e300},
                        skill_bonus={"percent": 1000}, confidence=NAN)
    with pytest.raises(ProjectError):
        parse_project(old)
    spec = parse_project(old, stored=True)
    assert spec.reward_micros == MAX_AMOUNT
    assert spec.auto_approve_hours == 8760 and spec.quiz is not None
    assert spec.quiz.cooldown_hours == 8760
    assert spec.skill_bonus is not None and spec.skill_bonus.percent == 100
    assert spec.confidence == 0.9 and spec.min_seconds is None  # nan: the default
    assert len(spec.title.get("en")) == 120
    assert "reward" in caplog.text and "auto_approve_hours" in caplog.text


# -- config numbers ----------------------------------------------------------------------


@pytest.mark.parametrize("value", [INF, -INF, NAN, 1e300])
@pytest.mark.parametrize("key", [k for k, rule in RULES.items() if isinstance(rule, Number)])
def test_no_config_number_may_be_infinite_nan_or_huge(key: str, value: float) -> None:
    section, name = key.split(".")
    with pytest.raises(ConfigError) as caught:
        parse_config({section: {name: value}}, "c.toml")
    message = str(caught.value)
    assert message.startswith(f"c.toml: {key} must be a number") and "\n" not in message
    rule = RULES[key]
    assert isinstance(rule, Number)
    assert f"to {rule.high:g}" in message


@pytest.mark.parametrize(("table", "expected"), [
    ({"telegram": {"max_retries": 10**6}}, "telegram.max_retries must be a whole number "
                                           "from 0 to 100"),
    ({"payouts": {"min_payout": {"USD": "9223372036854"}}},
     'payouts.min_payout.USD must be a decimal string from "0" to "1000000"'),
    ({"payouts": {"default_min_payout": "1" * 20}},
     'payouts.default_min_payout must be a decimal string from "0" to "1000000"'),
    ({"operators": {"ids": [2**63 - 1]}}, "operators.ids must be a list of Telegram user "
                                          "ids, whole numbers from 1 to 9007199254740991"),
    ({"operators": {"ids": [0]}}, "whole numbers from 1 to"),
])
def test_config_amounts_and_ids_are_bounded(table: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(expected)):
        parse_config(table, "c.toml")


# -- the README and the sample project say the same as the table -------------------------


def test_readme_lists_every_project_key_with_its_type_default_and_range() -> None:
    missing = [row for row in keys_table() if row not in README]
    assert not missing, "README's project key table differs from bot.domain.project_keys.KEYS " \
                        "(paste the rows of keys_table()):\n" + "\n".join(missing)


def test_readme_gives_every_config_number_its_range() -> None:
    for key, rule in RULES.items():
        row = next((line for line in README.splitlines()
                    if line.startswith(f"| `{key}` |")), None)
        assert row is not None, key
        assert rule.range() in row, (key, rule.range(), row)


def test_readme_states_the_money_bounds() -> None:
    money = README[README.index("## Money"):README.index("## Operators in chat")]
    assert "1,000,000" in money and "1,000,000,000" in money and "2**63" in money


def test_sample_project_loads_and_comments_every_range() -> None:
    text = SAMPLE.read_text("utf-8")
    parse_project(tomllib.loads(text))
    for name, key in KEYS.items():
        allowed = key.allowed or key.rule.range()
        if name.startswith("labels[]"):
            assert allowed in text, name
        elif isinstance(key.rule, Whole | Number | Money | ExactShare | Texts):
            pattern = re.compile(rf"^#?\s*\[?{re.escape(name.split('.')[-1])}\b.*#.*"
                                 rf"{re.escape(allowed)}", re.MULTILINE)
            assert pattern.search(text), f"sample has no comment with {name}'s range " \
                                         f"({allowed})"


# -- /newproject in chat checks each answer against the same limits ----------------------


async def test_newproject_asks_again_for_a_text_or_amount_beyond_its_limit(
        bot: Running) -> None:
    """Refused at the question, not at the end: the operator's draft is never lost."""
    op = bot.server.phone(OPERATOR_ID, "Op")
    await op.send("/newproject")
    await op.tap("Classification (your own labels)", await op.wait_text("What kind of task"))
    await op.wait_text("Its name?")
    await op.send("fruit")
    await op.wait_text("The title workers see?")
    await op.send("T" * 121)
    await op.wait_text("Please keep it to 120 characters; this one has 121.")
    await op.send("ko: " + "제" * 200)
    await op.wait_text("Please keep it to 120 characters; this one has 200.")
    await op.send("Which fruit is it?")
    await op.tap("▶️ Continue", await op.wait_text("Add another language, or continue?"))
    await op.wait_text("The instructions workers see")
    await op.send("I" * 1001)
    await op.wait_text("Please keep it to 1000 characters; this one has 1001.")
    await op.send("Pick the fruit.")
    await op.tap("▶️ Continue", await op.wait_text("✓ English: Pick the fruit."))
    await op.wait_text("The labels")
    await op.send("apple, " + "b" * 101)
    await op.wait_text("each of at most 100 characters")
    await op.send("apple, banana")
    await op.wait_text("pay per accepted answer")
    await op.send("9223372036854 USD")
    await op.wait_text("Please write an amount of at most 1,000,000 and a currency code")
    await op.send("1000000 USD")
    await op.tap("2", await op.wait_text("How many different workers"))
    await op.wait_text("Project fruit created")
    spec = (await bot.services.catalog.get("fruit")).spec
    assert spec.title.texts == {"en": "Which fruit is it?"}
    assert spec.reward_micros == MAX_AMOUNT and spec.label_values == ("apple", "banana")
