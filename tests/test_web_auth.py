"""Staff accounts from the command line (`flask --app web create-staff`), hashed passwords, the rules
for names and passwords, and log-in throttling: failed attempts per address and per account name."""

from __future__ import annotations

import pytest
from werkzeug.security import check_password_hash, generate_password_hash

from tests.test_web_console import PASSWORD, login, token
from web.auth import check_password, clean_name
from web.drafts import store_of


@pytest.fixture
def cli(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


def test_create_staff_reads_the_password_from_stdin_and_stores_only_its_hash(cli, app) -> None:  # type: ignore[no-untyped-def]
    result = cli.invoke(args=["create-staff", "Lan", "--role", "admin", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "created admin account 'Lan'" in result.output
    lan = store_of(app).staff_by_name("Lan")
    assert lan is not None and lan.role == "admin" and lan.active
    assert PASSWORD not in lan.password_hash and check_password_hash(lan.password_hash, PASSWORD)
    assert login(app.test_client(), "Lan").status_code == 302


def test_create_staff_prompts_twice_and_refuses_a_mismatch(cli, app) -> None:  # type: ignore[no-untyped-def]
    result = cli.invoke(args=["create-staff", "Minh"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0 and "created staff account 'Minh'" in result.output
    assert PASSWORD not in result.output  # hidden input is not echoed
    result = cli.invoke(args=["create-staff", "Hoa"], input=f"{PASSWORD}\nsomething else entirely\n")
    assert result.exit_code != 0 and store_of(app).staff_by_name("Hoa") is None


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["create-staff", "Lan", "--password-stdin"], "short\n", "at least 10 characters"),
        (["create-staff", "x", "--password-stdin"], PASSWORD + "\n", "2-80 letters"),
        (["create-staff", "Lan", "--role", "root", "--password-stdin"], PASSWORD + "\n", "Invalid value for '--role'"),
    ],
)
def test_create_staff_says_what_is_wrong(cli, app, args, stdin, message) -> None:  # type: ignore[no-untyped-def]
    result = cli.invoke(args=args, input=stdin)
    assert result.exit_code != 0 and message in result.output
    assert store_of(app).staff_users() == []


def test_create_staff_refuses_a_taken_name_and_a_missing_database(cli, app) -> None:  # type: ignore[no-untyped-def]
    assert cli.invoke(args=["create-staff", "Lan", "--password-stdin"], input=PASSWORD + "\n").exit_code == 0
    result = cli.invoke(args=["create-staff", "Lan", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 1 and "exists already" in result.output
    app.config["DATABASE_URL"] = "postgresql+psycopg2://postgres@127.0.0.1:9/nothing"
    result = cli.invoke(args=["create-staff", "Minh", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 1 and "cannot reach the app database" in result.output


def test_name_and_password_rules() -> None:
    assert clean_name("  Nguyễn   Thị  Lan ") == "Nguyễn Thị Lan"
    assert clean_name("cb.hoa-01") == "cb.hoa-01"
    for bad in ("L", "<b>x</b>", "a" * 81, "   "):
        with pytest.raises(ValueError):
            clean_name(bad)
    assert check_password("ten chars!") == "ten chars!"
    for bad in ("123456789", " " * 12, "x" * 201):
        with pytest.raises(ValueError):
            check_password(bad)


@pytest.fixture
def app_config(app_config):  # type: ignore[no-untyped-def]
    return {**app_config, "RATELIMIT_LOGIN": "3 per minute"}


def test_failed_logins_are_throttled_per_address(app) -> None:  # type: ignore[no-untyped-def]
    store_of(app).create_staff("Minh", generate_password_hash(PASSWORD))
    client = app.test_client()
    for _ in range(3):
        assert login(client, "Minh", "wrong password").status_code == 401
    response = login(client, "Minh")  # even the right password waits now
    assert response.status_code == 429 and "try again" in response.get_data(as_text=True)
    assert "Retry-After" in response.headers
    other = app.test_client()  # another address is not blocked by this one
    other.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    assert login(other, "Lan", "wrong password").status_code == 401


def test_failed_logins_are_throttled_per_account_from_any_address(app) -> None:  # type: ignore[no-untyped-def]
    store_of(app).create_staff("Minh", generate_password_hash(PASSWORD))
    for i in range(3):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.1.{i}"
        assert login(client, "minh", "wrong password").status_code == 401  # names compare case-blind here
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.1.99"
    assert login(client, "Minh", "wrong password").status_code == 429


def test_successful_logins_do_not_count(app) -> None:  # type: ignore[no-untyped-def]
    store_of(app).create_staff("Minh", generate_password_hash(PASSWORD))
    for _ in range(5):
        client = app.test_client()
        assert login(client, "Minh").status_code == 302
    assert token(client)
