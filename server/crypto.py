"""Platform credentials encrypted at rest.

Account credentials (passwords, app tokens, OAuth secrets) are sealed with Fernet before they
reach the database, so a leaked database file or backup does not leak anyone's logins. Keys come
from ``CREDITLINE_SECRET_KEY`` (comma-separated, newest first, so keys can be rotated) or from a
key file that is created on first run, readable by its owner only.

Nothing in this module logs, repeats in an error message, or shows in a ``repr`` a key or a
credential: errors say *what* is wrong and *where* (the variable or the path), never the value.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import uuid
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

logger = logging.getLogger(__name__)

ENV_VAR = "CREDITLINE_SECRET_KEY"
KEY_FILE_MODE = 0o600

# Keys are separated by commas in the environment; a key file may also use newlines.
_KEY_SEPARATORS = re.compile(r"[,\s]+")


class CredentialsUnreadable(Exception):
    """A sealed token cannot be opened: wrong key, or corrupt/tampered data."""


class KeyFileError(Exception):
    """The key file or the key variable is unusable; the message says which, never the key."""


class CredentialBox:
    """Seals and opens credential dicts; the first key encrypts, every key decrypts."""

    __slots__ = ("_fernet", "_key_count")

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("CredentialBox needs at least one key")
        fernets = []
        for index, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                # `from None`: the original error's context could carry the key bytes.
                raise ValueError(
                    f"key #{index} of {len(keys)} is not a valid Fernet key "
                    "(expected 32 url-safe base64-encoded bytes)"
                ) from None
        self._fernet = MultiFernet(fernets)
        self._key_count = len(fernets)

    def __repr__(self) -> str:
        return f"<CredentialBox keys={self._key_count}>"

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the keys out in the clear (caches, task queues): refuse.
        raise TypeError("CredentialBox cannot be pickled")

    @staticmethod
    def generate_key() -> bytes:
        """A fresh random Fernet key (for the CLI or a new key file)."""
        return Fernet.generate_key()

    @classmethod
    def load(cls, env_value: str | None, key_path: Path) -> CredentialBox:
        """Build the box from the environment's keys, else from the key file (created if absent)."""
        if env_value is not None and env_value.strip():
            keys = _parse_keys(env_value, source=f"environment variable {ENV_VAR}")
            logger.debug("loaded %d credential key(s) from %s", len(keys), ENV_VAR)
            return cls(keys)
        key_path = Path(key_path)
        if not key_path.exists():
            _create_key_file(key_path)
        keys = _read_key_file(key_path)
        logger.debug("loaded %d credential key(s) from key file %s", len(keys), key_path)
        return cls(keys)

    def seal(self, credentials: dict[str, str]) -> bytes:
        """Encrypt a credentials dict with the current (first) key."""
        _check_credentials(credentials)
        plaintext = json.dumps(credentials, ensure_ascii=False, separators=(",", ":"))
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def open(self, token: bytes) -> dict[str, str]:
        """Decrypt a sealed token; raises CredentialsUnreadable, never returns garbage."""
        try:
            plaintext = self._fernet.decrypt(_as_bytes(token))
        except InvalidToken:
            raise CredentialsUnreadable(
                "stored credentials cannot be decrypted with the configured keys "
                "(wrong or missing key, or corrupt data)"
            ) from None
        try:
            credentials = json.loads(plaintext.decode("utf-8"))
            _check_credentials(credentials)
        except (ValueError, TypeError):
            # Authentic token but not our format; do not echo any of its content.
            raise CredentialsUnreadable(
                "stored credentials decrypted but are not a JSON object of strings"
            ) from None
        return credentials

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt a token under the first key, so old keys can later be dropped."""
        try:
            return self._fernet.rotate(_as_bytes(token))
        except InvalidToken:
            raise CredentialsUnreadable(
                "stored credentials cannot be re-encrypted: no configured key opens them"
            ) from None


def _as_bytes(token: bytes | str) -> bytes:
    # Database drivers hand back memoryview or str depending on the column type.
    if isinstance(token, str):
        return token.encode("ascii", errors="replace")
    if isinstance(token, bytes):
        return token
    if isinstance(token, (bytearray, memoryview)):
        return bytes(token)
    raise TypeError(f"token must be bytes, not {type(token).__name__}")


def _check_credentials(credentials: object) -> None:
    """Only a flat dict of strings goes in or comes out; messages name fields, never values."""
    if not isinstance(credentials, dict):
        raise TypeError(f"credentials must be a dict, not {type(credentials).__name__}")
    for name, value in credentials.items():
        if not isinstance(name, str):
            raise TypeError("credential field names must be strings")
        if not isinstance(value, str):
            raise TypeError(
                f"credential field {name!r} must be a string, not {type(value).__name__}"
            )


def _parse_keys(text: str, *, source: str) -> list[bytes]:
    """Split and validate keys; errors name the source and the key's position only."""
    parts = [part for part in _KEY_SEPARATORS.split(text.strip()) if part]
    if not parts:
        raise KeyFileError(f"{source} contains no keys")
    keys: list[bytes] = []
    for index, part in enumerate(parts, start=1):
        try:
            key = part.encode("ascii")
            Fernet(key)
        except (ValueError, TypeError):
            raise KeyFileError(
                f"{source}: key #{index} of {len(parts)} is not a valid Fernet key "
                "(expected 32 url-safe base64-encoded bytes, as made by "
                "cryptography.fernet.Fernet.generate_key())"
            ) from None
        keys.append(key)
    return keys


def _read_key_file(key_path: Path) -> list[bytes]:
    source = f"key file {key_path}"
    try:
        info = key_path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"{source} is not a regular file")
        raw = key_path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read {source}: {exc.strerror or exc}") from None
    if os.name == "posix" and info.st_mode & 0o077:
        logger.warning(
            "key file %s is accessible to group/other (mode %s); restrict it with: chmod 600 %s",
            key_path,
            oct(stat.S_IMODE(info.st_mode)),
            key_path,
        )
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError(f"{source} is not ASCII text; it should hold Fernet keys") from None
    return _parse_keys(text, source=source)


def _create_key_file(key_path: Path) -> None:
    """Write a fresh key, owner-only from the first instant, and publish it atomically.

    The key goes into a temporary file opened with O_CREAT|O_EXCL and mode 0600, and is then
    hard-linked to its final name: a concurrent process either sees no file or a complete one,
    and if two processes race on first start, the loser adopts the winner's key.
    """
    try:
        key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise KeyFileError(
            f"cannot create the directory for key file {key_path}: {exc.strerror or exc}"
        ) from None
    key = Fernet.generate_key() + b"\n"
    tmp_path = key_path.with_name(f".{key_path.name}.{uuid.uuid4().hex}.tmp")
    try:
        _write_exclusive(tmp_path, key)
        try:
            os.link(tmp_path, key_path)
        except FileExistsError:
            logger.info("key file %s was created concurrently; using it", key_path)
            return
        except OSError:
            # Filesystems without hard links: create the final file directly, still O_EXCL.
            try:
                _write_exclusive(key_path, key)
            except FileExistsError:
                logger.info("key file %s was created concurrently; using it", key_path)
                return
        logger.warning(
            "created a new credential key file at %s; back it up: without it, stored "
            "platform credentials cannot be decrypted",
            key_path,
        )
    except OSError as exc:
        raise KeyFileError(f"cannot create key file {key_path}: {exc.strerror or exc}") from None
    finally:
        try:
            tmp_path.unlink(missing_ok=True)
        except OSError:
            logger.warning("could not remove temporary key file %s", tmp_path)


def _write_exclusive(path: Path, data: bytes) -> None:
    """Create `path` (never an existing one) with mode 0600 and write `data` durably."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, KEY_FILE_MODE)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, KEY_FILE_MODE)  # exactly 0600, whatever the umask
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
