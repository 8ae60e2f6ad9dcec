"""CredentialBox: credentials sealed at rest, keys loaded safely, secrets never shown."""

from __future__ import annotations

import logging
import os
import stat
import traceback
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from server.crypto import CredentialBox, CredentialsUnreadable, KeyFileError

SECRET = {"username": "hyena_artist", "password": "hunter2-correct-horse", "app_token": "tok_ü✓"}


@pytest.fixture
def key() -> bytes:
    return Fernet.generate_key()


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "instance" / "keys" / "secret.key"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def full_text(exc: BaseException) -> str:
    """Every message a traceback would print (chained exceptions included), minus source lines."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        parts.extend(traceback.format_exception_only(current))
        parts.append(repr(current.args))
        if current.__cause__ is not None:
            current = current.__cause__
        elif not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    return "".join(parts)


# --- sealing -------------------------------------------------------------------------------


def test_seal_open_round_trip(key: bytes) -> None:
    box = CredentialBox([key])
    token = box.seal(SECRET)
    assert isinstance(token, bytes)
    assert box.open(token) == SECRET
    assert box.open(token.decode("ascii")) == SECRET  # type: ignore[arg-type]  # str column
    assert box.open(memoryview(token)) == SECRET  # type: ignore[arg-type]  # driver buffers


def test_ciphertext_does_not_contain_the_plaintext(key: bytes) -> None:
    token = CredentialBox([key]).seal(SECRET)
    for text in (*SECRET.values(), *SECRET.keys()):
        assert text.encode() not in token
    assert b"hunter2" not in token


def test_each_seal_is_fresh(key: bytes) -> None:
    box = CredentialBox([key])
    assert box.seal(SECRET) != box.seal(SECRET)


def test_wrong_key_is_unreadable(key: bytes) -> None:
    token = CredentialBox([key]).seal(SECRET)
    with pytest.raises(CredentialsUnreadable) as info:
        CredentialBox([Fernet.generate_key()]).open(token)
    text = full_text(info.value)
    assert "hunter2" not in text
    assert key.decode() not in text


@pytest.mark.parametrize(
    "token", [b"", b"not a token", b"gAAAAA" + b"A" * 100, "ünicode", b"\xff\xfe"]
)
def test_corrupt_token_is_unreadable(key: bytes, token: bytes) -> None:
    with pytest.raises(CredentialsUnreadable):
        CredentialBox([key]).open(token)


def test_tampered_token_is_unreadable(key: bytes) -> None:
    box = CredentialBox([key])
    token = bytearray(box.seal(SECRET))
    token[40] = ord("A") if token[40] != ord("A") else ord("B")
    with pytest.raises(CredentialsUnreadable):
        box.open(bytes(token))


@pytest.mark.parametrize("payload", [b"not json", b'["a list"]', b'{"password": 123}'])
def test_authentic_but_malformed_payload_is_unreadable(key: bytes, payload: bytes) -> None:
    token = Fernet(key).encrypt(payload)
    with pytest.raises(CredentialsUnreadable) as info:
        CredentialBox([key]).open(token)
    assert "123" not in str(info.value)


def test_seal_refuses_non_string_values_without_echoing_them(key: bytes) -> None:
    with pytest.raises(TypeError) as info:
        CredentialBox([key]).seal({"password": 987654321})  # type: ignore[dict-item]
    assert "987654321" not in full_text(info.value)
    assert "password" in str(info.value)


def test_box_needs_a_valid_key() -> None:
    with pytest.raises(ValueError):
        CredentialBox([])
    with pytest.raises(ValueError) as info:
        CredentialBox([b"short-secret-key"])
    assert "short-secret-key" not in full_text(info.value)


# --- rotation ------------------------------------------------------------------------------


def test_comma_separated_keys_rotate(key_path: Path) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    old_token = CredentialBox.load(old.decode(), key_path).seal(SECRET)

    box = CredentialBox.load(f" {new.decode()} , {old.decode()} ", key_path)

    assert box.open(old_token) == SECRET  # old key still decrypts
    rotated = box.rotate(old_token)
    assert CredentialBox([new]).open(rotated) == SECRET  # new key alone suffices afterwards
    with pytest.raises(CredentialsUnreadable):
        CredentialBox([old]).open(rotated)
    with pytest.raises(CredentialsUnreadable):
        CredentialBox([old]).open(box.seal(SECRET))  # the first key is the one that encrypts
    assert not key_path.exists()  # keys from the environment: no key file is written


def test_rotate_unknown_token_is_unreadable(key: bytes) -> None:
    with pytest.raises(CredentialsUnreadable):
        CredentialBox([key]).rotate(CredentialBox([Fernet.generate_key()]).seal(SECRET))


# --- loading keys --------------------------------------------------------------------------


def test_key_file_is_created_0600_and_reused(key_path: Path) -> None:
    first = CredentialBox.load(None, key_path)

    assert key_path.is_file()
    assert mode_of(key_path) == 0o600
    assert list(key_path.parent.iterdir()) == [key_path]  # no temporary file left
    Fernet(key_path.read_bytes().strip())  # a valid key

    before = key_path.read_bytes()
    second = CredentialBox.load("", key_path)  # empty env value means "not set"
    assert key_path.read_bytes() == before
    assert second.open(first.seal(SECRET)) == SECRET


def test_key_file_is_0600_whatever_the_umask(key_path: Path) -> None:
    previous = os.umask(0o000)
    try:
        CredentialBox.load(None, key_path)
    finally:
        os.umask(previous)
    assert mode_of(key_path) == 0o600


def test_env_key_beats_key_file(key_path: Path) -> None:
    file_key, env_key = Fernet.generate_key(), Fernet.generate_key()
    key_path.parent.mkdir(parents=True)
    key_path.write_bytes(file_key + b"\n")
    key_path.chmod(0o600)

    token = CredentialBox.load(env_key.decode(), key_path).seal(SECRET)

    assert CredentialBox([env_key]).open(token) == SECRET
    with pytest.raises(CredentialsUnreadable):
        CredentialBox([file_key]).open(token)


def test_key_file_may_hold_several_keys(key_path: Path) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    key_path.parent.mkdir(parents=True)
    key_path.write_bytes(new + b"\n" + old + b"\n")
    key_path.chmod(0o600)
    box = CredentialBox.load(None, key_path)
    assert box.open(CredentialBox([old]).seal(SECRET)) == SECRET
    assert CredentialBox([new]).open(box.seal(SECRET)) == SECRET


def test_loose_key_file_permissions_warn_but_load(
    key_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = Fernet.generate_key()
    key_path.parent.mkdir(parents=True)
    key_path.write_bytes(key)
    key_path.chmod(0o644)

    with caplog.at_level(logging.DEBUG, logger="server.crypto"):
        box = CredentialBox.load(None, key_path)

    assert box.open(CredentialBox([key]).seal(SECRET)) == SECRET
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and str(key_path) in warnings[0].getMessage()
    assert "0o644" in warnings[0].getMessage()
    assert key.decode() not in caplog.text


@pytest.mark.parametrize(
    "bad",
    ["not-a-key", "c2hvcnQ=", Fernet.generate_key().decode()[:-4], "ümlaut-secret-value", ",,"],
)
def test_malformed_env_key_names_the_variable_not_the_value(key_path: Path, bad: str) -> None:
    with pytest.raises(KeyFileError) as info:
        CredentialBox.load(bad, key_path)
    assert "CREDITLINE_SECRET_KEY" in str(info.value)
    text = full_text(info.value)
    for part in bad.split(","):
        if part:
            assert part not in text
    assert not key_path.exists()


def test_one_bad_key_among_good_ones_is_reported_by_position(key_path: Path) -> None:
    good = Fernet.generate_key().decode()
    with pytest.raises(KeyFileError) as info:
        CredentialBox.load(f"{good},oops-not-a-key", key_path)
    assert "key #2 of 2" in str(info.value)
    assert good not in full_text(info.value)
    assert "oops-not-a-key" not in full_text(info.value)


@pytest.mark.parametrize(
    "content", [b"", b"\n", b"not-a-fernet-key-at-all\n", b"\xff\xfe binary junk"]
)
def test_malformed_key_file_names_the_path_not_the_content(key_path: Path, content: bytes) -> None:
    key_path.parent.mkdir(parents=True)
    key_path.write_bytes(content)
    key_path.chmod(0o600)
    with pytest.raises(KeyFileError) as info:
        CredentialBox.load(None, key_path)
    assert str(key_path) in str(info.value)
    assert "not-a-fernet-key-at-all" not in full_text(info.value)


def test_key_path_that_is_a_directory(key_path: Path) -> None:
    key_path.mkdir(parents=True)
    with pytest.raises(KeyFileError) as info:
        CredentialBox.load(None, key_path)
    assert str(key_path) in str(info.value)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_key_file(key_path: Path) -> None:
    key_path.parent.mkdir(parents=True)
    key_path.write_bytes(Fernet.generate_key())
    key_path.chmod(0o000)
    with pytest.raises(KeyFileError) as info:
        CredentialBox.load(None, key_path)
    assert str(key_path) in str(info.value)


def test_key_file_in_a_directory_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory should be")
    with pytest.raises(KeyFileError) as info:
        CredentialBox.load(None, blocker / "secret.key")
    assert str(blocker / "secret.key") in str(info.value)


# --- keys never shown ----------------------------------------------------------------------


def test_keys_never_appear_in_repr_or_logs(
    key_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env_key = Fernet.generate_key()
    with caplog.at_level(logging.DEBUG):
        created = CredentialBox.load(None, key_path)  # creates the key file
        file_key = key_path.read_bytes().strip()
        reloaded = CredentialBox.load(None, key_path)
        from_env = CredentialBox.load(env_key.decode(), key_path)
        for box in (created, reloaded, from_env):
            token = box.seal(SECRET)
            box.open(token)
            box.rotate(token)
            for text in (repr(box), str(box)):
                assert file_key.decode() not in text
                assert env_key.decode() not in text
        with pytest.raises(CredentialsUnreadable):
            from_env.open(created.seal(SECRET))

    assert caplog.records  # the loads did log something, just nothing secret
    for secret in (file_key.decode(), env_key.decode(), *SECRET.values()):
        assert secret not in caplog.text
    assert repr(from_env) == "<CredentialBox keys=1>"


def test_box_refuses_to_be_pickled(key: bytes) -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(CredentialBox([key]))
