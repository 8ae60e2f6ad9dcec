"""The ``creditline`` command, run in-process against a temporary instance folder."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from server.cli import main
from tests.server.helpers import HYENA, TANRAAK


@pytest.fixture
def run(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CREDITLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("CREDITLINE_INSTANCE_PATH", str(tmp_path / "instance"))

    def invoke(*args: str, input: str | None = None, ok: bool = True):
        result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["worker"],
        ["db", "upgrade"],
        ["user", "create"],
        ["token", "create"],
        ["people", "import"],
        ["people", "export"],
    ],
)
def test_every_command_explains_itself(run, command):
    result = run(*command, "--help")
    assert "Usage: " in result.output
    assert len(result.output.splitlines()) > 3


def test_user_token_and_people_round_trip(run, tmp_path):
    run("db", "upgrade")
    run("user", "create", "tanraak", input="pw\npw\n")
    duplicate = run("user", "create", "tanraak", input="pw\npw\n", ok=False)
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output

    token = run("token", "create", "tanraak").output.strip()
    assert token.startswith("cl_") and len(token) > 30

    people_file = tmp_path / "people.json"
    people_file.write_text(json.dumps({"people": [TANRAAK, HYENA]}))
    assert (
        "2 created, 0 updated"
        in run("people", "import", str(people_file), "--user", "tanraak").output
    )
    exported = json.loads(run("people", "export", "--user", "tanraak").output)
    assert [p["key"] for p in exported["people"]] == ["hyena", "tanraak"]
    assert exported["people"][1]["primary"] == "furaffinity"


def test_cli_errors_are_clear(run, tmp_path):
    run("db", "upgrade")
    missing = run("token", "create", "ghost", ok=False)
    assert missing.exit_code == 1 and "no user 'ghost'" in missing.output
    run("user", "create", "tanraak", input="pw\npw\n")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    result = run("people", "import", str(bad), "--user", "tanraak", ok=False)
    assert result.exit_code == 1 and "bad.json" in result.output
    bad.write_text(json.dumps({"people": [{"key": "x", "name": "X", "accounts": {"aol": "x"}}]}))
    result = run("people", "import", str(bad), "--user", "tanraak", ok=False)
    assert "unknown platform" in result.output


def test_bad_user_names_are_refused(run):
    for name in ["", "x" * 65, "has space", ".dot", "a\tb", "é"]:
        result = run("user", "create", name, input="pw\npw\n", ok=False)
        assert result.exit_code == 1, name
        assert "invalid user name" in result.output


def test_a_database_that_is_not_migrated_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CREDITLINE_INSTANCE_PATH", str(tmp_path / "fresh"))
    monkeypatch.delenv("CREDITLINE_DATABASE_URL", raising=False)
    for command in (["token", "create", "x"], ["people", "export", "--user", "x"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 1, result.output
        assert "creditline db upgrade" in result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("CREDITLINE_MAX_IMAGE_BYTES", "lots", "must be int"),
        ("CREDITLINE_SECRET_KEY", "not-a-key", "not a valid Fernet key"),
        ("CREDITLINE_DATABASE_URL", "nonsense", "URL"),
        ("CREDITLINE_DATABASE_URL", "postgresql+psycopg://nobody:pw@127.0.0.1:1/none", "database"),
    ],
)
def test_configuration_problems_are_clear_errors(tmp_path, monkeypatch, variable, value, words):
    monkeypatch.setenv("CREDITLINE_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and words in result.output
    assert "pw@" not in result.output


def test_unknown_revision_and_bad_import_files_are_clear_errors(run, tmp_path):
    result = run("db", "upgrade", "--revision", "nope", ok=False)
    assert result.exit_code == 1 and "nope" in result.output
    run("user", "create", "tanraak", input="pw\npw\n")
    bad = tmp_path / "bad.json"
    for content, words in [
        ("[]", "valid dictionary"),
        (json.dumps({"people": [{"key": "k", "name": "a\0b"}]}), "people.0.name"),
        ("[" * 100_000, "bad.json"),
    ]:
        bad.write_text(content)
        result = run("people", "import", str(bad), "--user", "tanraak", ok=False)
        assert result.exit_code == 1 and words in result.output, result.output
    assert json.loads(run("people", "export", "--user", "tanraak").output) == {"people": []}
