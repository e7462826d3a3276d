"""Money as people read it: rewards keep their digits, computed figures are in the minor
unit, and a currency is named in the reader's words."""

from __future__ import annotations

import pytest

from bot.domain.money import currency_name, format_money, format_rate
from bot.services.ledger import Balance, Wallet


@pytest.mark.parametrize(("micros", "currency", "locale", "shown"), [
    (78_363_082, "USD", "en", "$78.36"),
    (7_845_000, "USD", "en", "$7.85"),        # half up, as people round, not half even
    (7_844_999, "USD", "en", "$7.84"),
    (1_234_567_890, "USD", "en", "$1,234.57"),
    (0, "USD", "en", "$0.00"),
    (4_500, "USD", "en", "$0.0045"),          # would round to nothing: two significant digits
    (4_567, "USD", "en", "$0.0046"),
    (1, "USD", "en", "$0.000001"),
    (7_836_360_000, "KRW", "ko", "₩7,836"),   # the won has no minor unit
    (7_836_500_000, "KRW", "ko", "₩7,837"),
    (12_345_678, "CNY", "zh", "¥12.35"),
    (12_345_678, "CNY", "ko", "CN¥12.35"),
    (78_363_082, "USD", "ko", "US$78.36"),
])
def test_a_rate_is_shown_in_the_minor_unit(micros: int, currency: str, locale: str,
                                           shown: str) -> None:
    assert format_rate(micros, currency, locale) == shown


@pytest.mark.parametrize(("micros", "currency", "locale", "shown"), [
    (5_000, "USD", "en", "$0.005"),           # a sub-cent reward keeps its digits
    (20_000, "USD", "en", "$0.02"),
    (78_363_082, "USD", "en", "$78.363082"),  # what a rate must never look like
    (50_000_000, "KRW", "ko", "₩50"),
    (100_000, "CNY", "zh", "¥0.10"),
])
def test_a_reward_keeps_its_own_digits(micros: int, currency: str, locale: str,
                                       shown: str) -> None:
    assert format_money(micros, currency, locale) == shown


@pytest.mark.parametrize(("currency", "locale", "name"), [
    ("USD", "ko", "미국 달러"), ("USD", "zh", "美元"), ("USD", "en", "US Dollar"),
    ("KRW", "ko", "대한민국 원"), ("CNY", "zh", "人民币"),
])
def test_a_currency_is_named_in_the_readers_words(currency: str, locale: str,
                                                  name: str) -> None:
    assert currency_name(currency, locale) == name


def test_only_balances_that_reach_the_minimum_are_payable() -> None:
    usd = Balance("USD", available=700_000)
    cny = Balance("CNY", available=5_000_000)
    krw = Balance("KRW", available=0)
    wallet = Wallet((usd, cny, krw), {}, {}, {}, (), None,
                    minimum={"USD": 5_000_000, "CNY": 5_000_000, "KRW": 0})
    assert wallet.payable() == (cny,)  # at the minimum exactly counts; nothing never does
