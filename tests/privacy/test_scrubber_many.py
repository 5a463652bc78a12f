"""The log scrubber with a thousand businesses' secrets (BUSINESSES_FILE): every form of every
secret is still replaced, in one indexed pass over the line instead of a replace per form, with
the same result as the few-secrets way, and overlapping secrets leave no piece behind."""

from __future__ import annotations

import base64
import random
import string

from bot.config.logs import MANY_FORMS, Scrubber, secret_forms

RANDOM = random.Random(19)


def secret(length: int = 24) -> str:
    return "".join(
        RANDOM.choice(string.ascii_letters + string.digits + "_-") for _ in range(length)
    )


SECRETS = [secret() for _ in range(2000)]


def test_a_thousand_businesses_secrets_are_replaced_as_a_few_are() -> None:
    many = Scrubber(SECRETS)
    assert len({f for s in SECRETS for f in secret_forms(s)}) > MANY_FORMS  # the indexed way
    for n in range(0, 2000, 97):
        key = SECRETS[n]
        basic = base64.b64encode(f"business-{n}:{key}".encode()).decode()
        line = f"GET /x?client_secret={key}&n={n} Authorization: Basic {basic} then {key}."
        one = Scrubber([key])  # the replace-per-form way, with this secret alone
        assert many(line) == one(line)
        assert key not in many(line) and many(line).count("[secret]") == 3


def test_lines_without_secrets_are_untouched() -> None:
    many = Scrubber(SECRETS)
    line = "update kind=message action=book chat=c_ab12cd outcome=ok ms=84 business=north"
    assert many(line) == line
    assert many("") == ""
    assert many("mail zoe@example.com") == "mail [email]"


def test_overlapping_secrets_leave_no_piece() -> None:
    first, second = "AAAAbbbbCCCC", "CCCCddddEEEE"  # "...CCCC" ends one and starts the other
    many = Scrubber([first, second, *SECRETS])
    assert many("x AAAAbbbbCCCCddddEEEE y") == "x [secret] y"
    assert many(f"{first}{first}") == "[secret][secret]"  # adjacent ones stay two
