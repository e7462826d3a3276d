"""Property-based: random sequences of what people and clients send keep every promise.

Hypothesis draws steps from several users and an operator: commands (valid, odd,
oversized), taps on buttons they see, forged callback data (stale, other users',
invented, oversized, non-ASCII), typed text (hostile HTML, very long), edits of earlier
messages, replays of earlier updates, documents, and jumps of the clock. Every step goes
through the stand-in to the running bot; after each one the invariants are checked:

- no unhandled error (nobody is told "something went wrong") and no stand-in failure;
- no message or edit that Telegram would refuse (bad HTML, too long);
- no answer, quiz attempt or ledger entry for anyone who has not agreed to the notice;
- every item's counters equal its assignments;
- every balance the wallet shows equals the sum of its ledger entries.

One bot serves every example (starting one per example would cost most of the budget);
users keep their history across examples, which only makes the sequences longer.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.projects import parse_project
from bot.i18n import gettext_for
from bot.sim.phone import Phone
from tests.conftest import OPERATOR_ID, Running, sentiment_doc
from tests.state import bucket_sums, counted_assignments, without_consent
from tests.test_callbacks import SAMPLES

WORKERS = (901, 902, 903)
USERS = (*WORKERS, OPERATOR_ID)
LANGUAGES = {901: "en", 902: "ko", 903: "zh", OPERATOR_ID: "en"}
HOSTILE = ["<b>bold</b> & <i>", "a < b > c & d", "</code><script>x</script>", "&amp;&lt;",
           "x" * 5000, "🙂" * 700, "", " ", "\u202e\u200b", "=cmd|' /C calc'!A0"]
COMMANDS = ["/start", "/start reviews", "/start nosuch", "/start " + "r" * 80, "/tasks",
            "/quick", "/quick 2", "/quick ²", "/quick 999999999999999999999", "/wallet",
            "/history", "/payout", "/top", "/settings", "/help", "/whoami", "/projects",
            "/project reviews", "/worker 901", "/worker ²", "/reject 1 no", "/payouts",
            "/pause reviews", "/resume reviews", "/broadcast reviews <b>new</b> & more",
            "/export reviews"]
FORGED = st.one_of(
    st.sampled_from(["t", "a:1:0", "a:1:99", "a:999999999999:0", "u:1", "s:1", "x:1",
                     "p:1", "p:999999999999", "qs:1", "q:1:0:0", "q:1:9:u", "ok",
                     "ok:1:big", "ok:99999999999999999999999999999", "rl:1:en", "rl:1:xx",
                     "nt:1", "qk:1", "po:1", "pa:1", "top:show", "set:read:ko",
                     "set:tz:Asia/Seoul", "set:tz:Mars/Base", "ws:901:1", "np:3"]),
    st.sampled_from([sample.pack() for sample in SAMPLES]),  # one of every button kind
    st.text(max_size=64),
    st.builds(lambda p, n: f"{p}:{n}", st.sampled_from(["a", "p", "qs", "po", "pa", "ok"]),
              st.integers(min_value=0, max_value=10**30)),
)

STEP = st.one_of(
    st.tuples(st.just("command"), st.sampled_from(USERS), st.sampled_from(COMMANDS)),
    st.tuples(st.just("tap"), st.sampled_from(USERS), st.integers(0, 30)),
    st.tuples(st.just("tap"), st.sampled_from(USERS), st.integers(0, 30)),
    st.tuples(st.just("forge"), st.sampled_from(USERS), FORGED),
    st.tuples(st.just("steal"), st.sampled_from(USERS), st.integers(0, 30)),
    st.tuples(st.just("type"), st.sampled_from(USERS),
              st.one_of(st.sampled_from(HOSTILE), st.text(max_size=100))),
    st.tuples(st.just("edit"), st.sampled_from(USERS), st.sampled_from(HOSTILE[:3])),
    st.tuples(st.just("replay"), st.sampled_from(USERS), st.just(0)),
    st.tuples(st.just("document"), st.sampled_from(USERS),
              st.sampled_from(["items", "garbage", "toml"])),
    st.tuples(st.just("clock"), st.just(0), st.sampled_from([1, 11, 61, 60 * 25])),
)

#: "Sorry, something went wrong on our side…" in every language a phone may read
WENT_WRONG = [gettext_for(lang)("Sorry, something went wrong on our side. Your answers are "
                                "safe; tap /tasks to carry on.")[:12]
              for lang in ("en", "ko", "zh")]
#: refusals that are part of normal life, not a message Telegram would not take
BENIGN = ("message is not modified", "query is too old", "query ID is invalid")


async def setup(bot: Running, tmp_path: Path) -> None:
    if "fuzz" in bot.app.bot_data:
        return
    bot.app.bot_data["fuzz"] = {"sent": {}, "updates": {}}
    await bot.services.catalog.save(parse_project(sentiment_doc(
        title="Reviews <b>& more</b>", overlap=2, settle_unit=2, gold_rate=0.3,
        quiz={"questions": 2, "pass": 0.5, "training": True}, auto_approve_hours=1)))
    items = [{"id": f"w{i}", "text": f"work {i} <i>&amp; {HOSTILE[i % 3]}"} for i in range(8)]
    items += [{"id": f"q{i}", "text": f"quiz {i} < 1", "quiz": True, "gold": "positive",
               "explain": "because <b>"} for i in range(3)]
    items += [{"id": f"g{i}", "text": f"gold {i} &", "gold": "negative"} for i in range(2)]
    file = tmp_path / "fuzz.jsonl"
    file.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    assert (await bot.services.catalog.import_file("reviews", file)).ok
    for user in USERS:
        bot.server.phone(user, f"U{user} <b>&", language_code=LANGUAGES[user])


def buttons(phone: Phone) -> list[tuple[dict[str, Any], str]]:
    found = []
    for message in phone.messages[-6:]:
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            found += [(message, b["callback_data"]) for b in row if "callback_data" in b]
    return found


async def run_step(bot: Running, tmp_path: Path, step: tuple[str, int, Any]) -> None:
    kind, user, arg = step
    state = bot.app.bot_data["fuzz"]
    if kind == "clock":
        bot.clock.advance(minutes=arg)
        return
    phone = bot.server.phone(user)
    if kind == "command" or kind == "type":
        state["sent"][user] = state["updates"][user] = await phone.send(arg)
    elif kind == "tap" and buttons(phone):
        message, data = buttons(phone)[arg % len(buttons(phone))]
        state["updates"][user] = await phone.tap_data(message, data)
    elif kind == "forge" and phone.messages:
        state["updates"][user] = await phone.tap_data(phone.messages[-1], arg)
    elif kind == "steal" and phone.messages:
        others = [b for u in USERS if u != user for b in buttons(bot.server.phone(u))]
        if others:
            state["updates"][user] = await phone.tap_data(phone.messages[-1],
                                                          others[arg % len(others)][1])
    elif kind == "edit" and user in state["sent"]:
        await phone.edit(state["sent"][user], arg)
    elif kind == "replay" and user in state["updates"]:
        bot.server.replay(state["updates"][user])
    elif kind == "document":
        if arg == "items":
            data = "".join(json.dumps({"id": f"d{n}-{i}", "text": HOSTILE[i % 4][:300]}) + "\n"
                           for n in [len(phone.messages)] for i in range(3)).encode()
            await phone.send_document(data, "items.jsonl", caption="/import reviews")
        elif arg == "garbage":
            await phone.send_document(b"\x00\xff{not json\n" * 3, "items.jsonl",
                                      caption="/import reviews")
        else:
            await phone.send_document(b'name = "x<y>"\nkind = "sentiment"\n', "p.toml")


async def check(bot: Running) -> None:
    await bot.server.wait_drained(timeout=20)
    await asyncio.sleep(0.05)  # the last update's handler finishes its reply
    assert bot.server.internal_errors == []
    seen = bot.app.bot_data["fuzz"].setdefault("calls", 0)
    calls = bot.server.calls[seen:]
    bot.app.bot_data["fuzz"]["calls"] = len(bot.server.calls)
    refused = [c for c in calls if c.status == 400
               and c.method.startswith(("send", "edit", "answer"))
               and not any(b in c.error for b in BENIGN)]
    assert refused == [], [(c.method, c.error, str(c.params)[:200]) for c in refused]
    for user in USERS:
        phone = bot.server.phone(user)
        texts = [phone.text(m) or "" for m in phone.messages]
        assert not any(w in t for t in texts for w in WENT_WRONG), phone.transcript()
    db = bot.services.db
    # work, quizzes and money only for those who agreed
    assert without_consent(db) == {"assignments": 0, "quiz_attempts": 0, "ledger": 0}
    # counters equal the assignments behind them
    assert [i for i, counted in counted_assignments(db)
            if (i.answers, i.leases) != counted] == []
    raw = bucket_sums(db)
    for worker, balances in (await bot.services.payroll.balances()).items():
        for balance in balances:
            for bucket in ("pending", "available", "reserved", "paid"):
                assert getattr(balance, bucket) == raw.get((worker, balance.currency, bucket),
                                                           0)


@settings(max_examples=int(os.environ.get("TAPWORK_FUZZ_EXAMPLES", "12")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=1, max_size=25))
async def test_any_sequence_of_updates_keeps_every_promise(
        bot: Running, tmp_path: Path, steps: list[tuple[str, int, Any]]) -> None:
    await setup(bot, tmp_path)
    for step in steps:
        await run_step(bot, tmp_path, step)
        await check(bot)
