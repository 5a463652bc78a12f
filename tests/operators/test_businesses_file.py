"""BUSINESSES_FILE: one TOML file, one full Settings per business. What an operator writes and
reads back: the layers (a business's table over [defaults] over the environment), "${NAME}"
values, and every mistake as one line naming the file, the business and the key, never a
secret. Without the file, settings load exactly as before."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config.businesses import (
    PER_BUSINESS,
    BusinessConfig,
    BusinessesFileError,
    derived_webhook_secret,
    load_businesses,
)
from bot.config.settings import Settings, SettingsError, load_settings
from tests.process import BOT_PREFIXES, ROOT

SECRET_A = "secret-of-north-0123456789"
SECRET_B = "secret-of-south-9876543210"
TOKEN_A = "111:AAnorth-token-north-token-north"
TOKEN_B = "222:AAsouth-token-south-token-south"
ENV = {"NORTH_TOKEN": TOKEN_A, "NORTH_SECRET": SECRET_A}

FILE = f"""
[defaults]
ZIMUN_BASE_URL = "http://127.0.0.1:9/api/v1"
BOT_LANGUAGES = "es,en"
BOOKING_HORIZON = "60d"

[businesses.studio-north]
TELEGRAM_BOT_TOKEN = "${{NORTH_TOKEN}}"
ZIMUN_CLIENT_ID = "north"
ZIMUN_CLIENT_SECRET = "${{NORTH_SECRET}}"
BUSINESS_NAME = "Studio North"
ALLOW_CANCEL = false
ADMIN_CHAT_ID = 4242

[businesses.south]
TELEGRAM_BOT_TOKEN = "{TOKEN_B}"
ZIMUN_CLIENT_ID = "south"
ZIMUN_CLIENT_SECRET = "{SECRET_B}"
BOT_LANGUAGES = "de"
RECONCILE_CALLS_PER_MINUTE = 0
"""


@pytest.fixture(autouse=True)
def no_bot_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only what a test sets: no variable or .env of the machine running the tests."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def process(tmp_path: Path, text: str = FILE, **env: str) -> Settings:
    path = tmp_path / "businesses.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(BUSINESSES_FILE=str(path), **env)


def load(tmp_path: Path, text: str = FILE, environ: dict[str, str] | None = None, **env: str):  # type: ignore[no-untyped-def]
    return load_businesses(process(tmp_path, text, **env), ENV if environ is None else environ)


def error_of(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(BusinessesFileError) as caught:
        load(tmp_path, text, environ)
    message = str(caught.value)
    assert "\n" not in message
    for secret in (SECRET_A, SECRET_B, TOKEN_A, TOKEN_B):
        assert secret not in message
    return message.removeprefix(f"BUSINESSES_FILE={tmp_path / 'businesses.toml'}")


def test_without_the_file_there_are_no_businesses_and_settings_load_as_before(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        TELEGRAM_BOT_TOKEN="1:x", ZIMUN_CLIENT_ID="id", ZIMUN_CLIENT_SECRET="s"
    )
    assert settings.BUSINESSES_FILE is None
    assert load_businesses(settings) is None
    assert load_businesses(load_settings(**BASE, BUSINESSES_FILE="  ")) is None  # blank: unset
    with pytest.raises(SettingsError) as caught:
        load_settings(ZIMUN_CLIENT_ID="id", ZIMUN_CLIENT_SECRET="s")
    assert str(caught.value) == (
        "TELEGRAM_BOT_TOKEN is not set (put it in the environment or in .env; see .env.example)"
    )


BASE = {"TELEGRAM_BOT_TOKEN": "1:x", "ZIMUN_CLIENT_ID": "id", "ZIMUN_CLIENT_SECRET": "s"}


def test_each_business_gets_its_table_over_the_defaults_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACT", "+34 600 000 000")  # the environment: under both
    monkeypatch.setenv("BOOKING_HORIZON", "10d")  # under [defaults]' 60d
    monkeypatch.setenv("BOT_DB_PATH", str(tmp_path / "all.db"))
    businesses = load_businesses(process(tmp_path), {**ENV, "CONTACT": "+34 600 000 000"})
    assert businesses is not None
    north, south = businesses
    assert [b.id for b in businesses] == ["studio-north", "south"]  # the file's order
    assert isinstance(north, BusinessConfig) and isinstance(north.settings, Settings)
    assert north.settings.TELEGRAM_BOT_TOKEN.get_secret_value() == TOKEN_A  # "${NORTH_TOKEN}"
    assert north.settings.ZIMUN_CLIENT_SECRET.get_secret_value() == SECRET_A
    assert north.settings.BUSINESS_NAME == "Studio North"
    assert north.settings.ALLOW_CANCEL is False  # a TOML bool
    assert north.settings.ADMIN_CHAT_ID == 4242  # a TOML integer
    assert north.settings.languages == ("es", "en")  # [defaults]
    assert north.settings.default_language == "es"
    assert str(north.settings.ZIMUN_BASE_URL) == "http://127.0.0.1:9/api/v1"
    assert north.settings.booking_horizon is not None and north.settings.booking_horizon.days == 60
    assert north.settings.CONTACT == "+34 600 000 000"  # the environment
    assert south.settings.languages == ("de",) and south.settings.default_language == "de"
    assert south.settings.RECONCILE_CALLS_PER_MINUTE == 0
    assert south.settings.ALLOW_CANCEL is True  # the built-in default
    # Process-wide: the environment's, the same for everyone.
    assert {b.settings.BOT_DB_PATH for b in businesses} == {str(tmp_path / "all.db")}


def test_the_environment_needs_no_token_of_its_own_with_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With BUSINESSES_FILE the process's own settings need no bot or Zimun client (even blank
    ones, as a copied .env.example has): each business names its own."""
    monkeypatch.setenv("ZIMUN_CLIENT_ID", "")
    settings = process(tmp_path)
    assert settings.TELEGRAM_BOT_TOKEN.get_secret_value() == ""
    businesses = load_businesses(settings, ENV)
    assert businesses is not None and len(businesses) == 2


def test_businesses_file_in_dotenv_spares_the_token_there_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "BUSINESSES_FILE=businesses.toml\nZIMUN_CLIENT_ID=\nLOG_LEVEL=debug\n"
    )
    settings = load_settings()
    assert (settings.BUSINESSES_FILE, settings.LOG_LEVEL) == ("businesses.toml", "DEBUG")
    (tmp_path / ".env").write_text("ZIMUN_CLIENT_ID=\nLOG_LEVEL=debug\n")
    with pytest.raises(SettingsError) as caught:  # without the file: as before
        load_settings()
    assert str(caught.value).startswith("TELEGRAM_BOT_TOKEN is not set")


def test_dotenv_and_the_environment_fill_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Without an explicit environ: os.environ over .env, as Settings reads them."""
    (tmp_path / ".env").write_text(
        f"NORTH_TOKEN={TOKEN_A}\nNORTH_SECRET=from-dotenv-secret\nCONTACT=dotenv contact\n"
    )
    monkeypatch.setenv("NORTH_SECRET", SECRET_A)
    businesses = load_businesses(process(tmp_path))
    assert businesses is not None
    north = businesses[0].settings
    assert north.TELEGRAM_BOT_TOKEN.get_secret_value() == TOKEN_A
    assert north.ZIMUN_CLIENT_SECRET.get_secret_value() == SECRET_A
    assert north.CONTACT == "dotenv contact"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", " names no business: add one [businesses.<id>] table per business"),
        ("[defaults]\nCONTACT = 'x'\n", " names no business: add one [businesses.<id>] table"),
        ("[businesses.a\n", " is not valid TOML: Expected ']' at the end of a table declaration"),
        (
            "[businesses.a]\nZIMUN_CLIENT_ID='a'\n[businesses.a]\nCONTACT='x'\n",
            " is not valid TOML: Cannot declare ('businesses', 'a') twice (at line 3",
        ),
        (
            "[businesses.Studio_1]\n",
            ": [businesses.Studio_1]: 'Studio_1' is not a business id (1 to 64 of a-z, 0-9 and -)",
        ),
        (f"[businesses.{'a' * 65}]\n", f": [businesses.{'a' * 65}]: '{'a' * 65}' is not a busi"),
        ("[business.a]\n", ": unknown table or key 'business' at the top"),
        ("businesses = 1\n", ": businesses must be tables ([businesses.<id>])"),
        ("[businesses]\na = 1\n", ": businesses.a must be a table ([businesses.a])"),
        (
            "[businesses.a]\nTELEGRAM_TOKEN = 'x'\n",
            ": [businesses.a] TELEGRAM_TOKEN is not a per-business setting (did you mean "
            "TELEGRAM_BOT_TOKEN?)",
        ),
        (
            "[defaults]\nWEBHOOK_SECRET = 'x'\n[businesses.a]\n",
            ": [defaults] WEBHOOK_SECRET is process-wide: set it in the environment or .env, "
            "once for every business",
        ),
        (
            "[businesses.a]\nBOT_DB_PATH = 'a.db'\n",
            ": [businesses.a] BOT_DB_PATH is process-wide",
        ),
        (
            "[businesses.a]\nMAX_BOOKINGS_PER_DAY = 2\n",
            ": [businesses.a] MAX_BOOKINGS_PER_DAY is process-wide",
        ),
        (
            "[businesses.a]\nMINI_APP_URL = 'https://a.example.com/book/'\n",
            ": [businesses.a] MINI_APP_URL is process-wide",
        ),
        (
            "[businesses.a]\nBUSINESSES_FILE = 'other.toml'\n",
            ": [businesses.a] BUSINESSES_FILE is process-wide",
        ),
        (
            "[businesses.a]\nHIDE_SERVICES = ['s1', 's2']\n",
            ": [businesses.a] HIDE_SERVICES must be a string, a whole number or true/false, not a "
            'list (lists are written as in the environment: "a,b")',
        ),
        (
            "[businesses.a]\nCONTACT = 'x'\ncontact = 'y'\n",
            ": [businesses.a] CONTACT is set twice",
        ),
    ],
)
def test_a_broken_file_is_one_line_saying_where(tmp_path: Path, text: str, expected: str) -> None:
    assert error_of(tmp_path, text).startswith(expected)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    settings = load_settings(BUSINESSES_FILE=str(tmp_path / "nowhere.toml"))
    with pytest.raises(BusinessesFileError) as caught:
        load_businesses(settings, {})
    assert str(caught.value) == f"BUSINESSES_FILE={tmp_path / 'nowhere.toml'}: no such file"


REQUIRED_A = f'TELEGRAM_BOT_TOKEN = "{TOKEN_A}"\nZIMUN_CLIENT_ID = "a"\nZIMUN_CLIENT_SECRET = "s"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[businesses.a]\nZIMUN_CLIENT_ID = 'a'\nZIMUN_CLIENT_SECRET = 's'\n",
            ": [businesses.a] TELEGRAM_BOT_TOKEN is not set (set it in this table, in "
            "[defaults] or in the environment)",
        ),
        (
            f"[businesses.a]\n{REQUIRED_A}BOOKING_HORIZON = 'forever'\n",
            ": [businesses.a] BOOKING_HORIZON is invalid: 'forever' is not a duration like "
            "24h, 90m or 1d (got 'forever')",
        ),
        (
            f"[defaults]\nBOT_DEFAULT_LANGUAGE = 'fr'\n[businesses.a]\n{REQUIRED_A}",
            ": [businesses.a] BOT_DEFAULT_LANGUAGE is invalid: Input should be 'en', 'es', 'it' "
            "or 'de' (got 'fr') (from [defaults])",
        ),
        (
            f"[businesses.a]\n{REQUIRED_A}BOT_LANGUAGES = 'de'\nBOT_DEFAULT_LANGUAGE = 'en'\n",
            ": [businesses.a] BOT_DEFAULT_LANGUAGE is invalid: 'en' is not one of BOT_LANGUAGES "
            "(de) (got 'en')",
        ),
        (
            f"[businesses.a]\n{REQUIRED_A}ADMIN_CHAT_ID = true\n",
            ": [businesses.a] ADMIN_CHAT_ID is invalid: Input should be a valid integer, unable "
            "to parse string as an integer (got 'true')",
        ),
        (
            f"[businesses.a]\n{REQUIRED_A}BOT_CONFIG = 'missing.toml'\n",
            ": [businesses.a] BOT_CONFIG=missing.toml: no such file",
        ),
        (
            "[businesses.a]\nTELEGRAM_BOT_TOKEN = '${NO_SUCH_VARIABLE}'\n",
            ': [businesses.a] TELEGRAM_BOT_TOKEN = "${NO_SUCH_VARIABLE}": NO_SUCH_VARIABLE is '
            "not set in the environment",
        ),
    ],
)
def test_a_wrong_setting_is_todays_line_after_the_business(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert error_of(tmp_path, text) == expected


def test_a_wrong_value_from_the_environment_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = f"[businesses.a]\n{REQUIRED_A}"
    message = error_of(tmp_path, text, {"CHANGE_CUTOFF": "99d"})
    assert message == (
        ": [businesses.a] CHANGE_CUTOFF is invalid: '99d' must be at most 30d (got '99d') "
        "(from the environment)"
    )


def test_values_are_taken_as_the_environment_would_give_them(tmp_path: Path) -> None:
    text = "[businesses.a]\nTELEGRAM_BOT_TOKEN = 12\nZIMUN_CLIENT_ID = 'a'\n"
    text += f"ZIMUN_CLIENT_SECRET = '{SECRET_A}'\nTELEGRAM_BASE_URL = 'x'\n"
    # A whole number becomes its digits, as the environment would give it.
    businesses = load(tmp_path, text)
    assert businesses is not None
    assert businesses[0].settings.TELEGRAM_BOT_TOKEN.get_secret_value() == "12"
    message = error_of(tmp_path, text.replace("ZIMUN_CLIENT_ID = 'a'", "ZIMUN_CLIENT_ID = ''"))
    assert message == (
        ": [businesses.a] ZIMUN_CLIENT_ID is invalid: String should have at least 1 character "
        "(got '')"
    )


def test_two_businesses_on_one_bot_are_refused_by_id(tmp_path: Path) -> None:
    text = FILE.replace(f'"{TOKEN_B}"', '"${NORTH_TOKEN}"')
    assert error_of(tmp_path, text) == (
        ": [businesses.studio-north] and [businesses.south] have the same TELEGRAM_BOT_TOKEN "
        "(each business needs its own bot from BotFather)"
    )


def test_every_per_business_setting_is_accepted_and_kept(tmp_path: Path) -> None:
    values = {
        "TELEGRAM_BASE_URL": "http://127.0.0.1:1/bot",
        "ZIMUN_BASE_URL": "http://127.0.0.1:2/api/v1",
        "ZIMUN_TOKEN_URL": "http://127.0.0.1:2/oauth/token",
        "ZIMUN_ORGANIZATION_ID": "org-1",
        "ZIMUN_API_DIALECT": "patch",
        "BOT_LANGUAGES": "it,en",
        "BOT_DEFAULT_LANGUAGE": "en",
        "BUSINESS_NAME": "Casa",
        "CONTACT": "call us",
        "HIDE_LOCATIONS": "loc_a",
        "HIDE_SERVICES": "svc_b",
        "BOOKING_LEAD_TIME": "2h",
        "BOOKING_HORIZON": "30d",
        "CHANGE_CUTOFF": "12h",
        "ALLOW_RESCHEDULE": "false",
        "ALLOW_CANCEL": "true",
        "MESSAGES_DIR": "",
        "BOT_CONFIG": "",
        "REMINDER_OFFSETS": "1d",
        "ADMIN_CHAT_ID": "-100123",
        "RECONCILE_CALLS_PER_MINUTE": "7",
        "WAITLIST_CALLS_PER_MINUTE": "8",
    }
    lines = "".join(f'{k} = "{v}"\n' for k, v in values.items())
    businesses = load(tmp_path, f"[businesses.x]\n{REQUIRED_A}{lines}")
    assert businesses is not None
    settings = businesses[0].settings
    expected = load_settings(**BASE, **values)
    for name in PER_BUSINESS:
        if name not in BASE:
            assert getattr(settings, name) == getattr(expected, name), name
    assert set(values) | set(BASE) == set(PER_BUSINESS)


def test_each_business_has_its_page_under_mini_app_url(tmp_path: Path) -> None:
    """MINI_APP_URL is the environment's; business <id>'s page is at MINI_APP_URL + "<id>/"
    (its menu button, its "Calendar" buttons); without it, no business has a page."""
    for base in ("https://bots.example.com/book/", "https://bots.example.com/book"):
        north, south = load(tmp_path, MINI_APP_URL=base)
        assert str(north.settings.MINI_APP_URL) == "https://bots.example.com/book/studio-north/"
        assert str(south.settings.MINI_APP_URL) == "https://bots.example.com/book/south/"
    assert all(b.settings.MINI_APP_URL is None for b in load(tmp_path))


def test_derived_webhook_secrets_are_telegrams_kind_and_one_per_business() -> None:
    secret = "s3cret-0123456789-abcdefghijklmnopq"
    north = derived_webhook_secret(secret, "studio-north")
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,256}", north)
    assert north == derived_webhook_secret(secret, "studio-north")  # stable across restarts
    assert north != derived_webhook_secret(secret, "south")
    assert north != derived_webhook_secret(secret + "x", "studio-north")
    assert secret not in north
    ids = [f"b-{n}" for n in range(1000)]
    assert len({derived_webhook_secret(secret, i) for i in ids}) == len(ids)


def test_python_m_bot_stops_on_a_broken_file_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "businesses.toml"
    path.write_text(f"[businesses.a]\n{REQUIRED_A}ALLOW_CANCEL = 'sometimes'\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(BOT_PREFIXES)}
    env.update(BUSINESSES_FILE=str(path), PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"Configuration error: BUSINESSES_FILE={path}: [businesses.a] ALLOW_CANCEL is invalid: "
        "Input should be a valid boolean, unable to interpret input (got 'sometimes')"
    ]
    assert TOKEN_A not in result.stdout + result.stderr


def test_the_example_file_loads(tmp_path: Path) -> None:
    """businesses.example.toml, as the README shows it, with its variables and BOT_CONFIG."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "studio-south.toml").write_text('business_name = "Studio Süd"\n')
    settings = load_settings(BUSINESSES_FILE=str(ROOT / "businesses.example.toml"))
    environ = {
        "STUDIO_NORTH_BOT_TOKEN": TOKEN_A,
        "STUDIO_NORTH_ZIMUN_SECRET": SECRET_A,
        "STUDIO_SOUTH_BOT_TOKEN": TOKEN_B,
        "STUDIO_SOUTH_ZIMUN_SECRET": SECRET_B,
    }
    businesses = load_businesses(settings, environ)
    assert businesses is not None
    north, south = businesses
    assert (north.id, south.id) == ("studio-north", "studio-south")
    assert north.settings.languages == ("es", "en") and south.settings.languages == ("de", "en")
    assert south.settings.hidden_services == ("svc_whitening", "svc_physio")
