"""Logins for a shared deployment: from DUTY_ASSISTANT_AUTH and/or `serve --auth-file`, never from the repository.

A bad entry is reported by its place (variable or file, entry number), never by its text: it may hold a password.
"""

from __future__ import annotations

from pathlib import Path

from assistant.errors import SettingsError

ENV_AUTH = "DUTY_ASSISTANT_AUTH"


def parse_credentials(text: str, where: str, separator: str = "\n") -> list[tuple[str, str]]:
    """`user:password` entries, blank ones and # comments skipped.

    Args:
        text: the entries, `separator` between them.
        where: names the source in an error ("DUTY_ASSISTANT_AUTH", "--auth-file PATH").
    Returns:
        [(user, password), …]; the password is everything after the first colon.
    Raises:
        SettingsError (a ValueError) naming the bad entry's number.
    """
    pairs = []
    for number, entry in enumerate(text.split(separator), start=1):
        entry = entry.strip()
        if not entry or entry.startswith("#"):
            continue
        user, sep, password = entry.partition(":")
        if not sep or not user.strip() or not password:
            raise SettingsError(f"{where}: entry {number} is not `user:password`")
        pairs.append((user.strip(), password))
    return pairs


def load_auth(env_value: str | None, auth_file: str | None) -> list[tuple[str, str]] | None:
    """Logins from DUTY_ASSISTANT_AUTH ("user:password", several separated by commas) and/or --auth-file.

    Returns:
        Every (user, password) found, or None when no login is configured (the app is then open).
    Raises:
        SettingsError (a ValueError): a bad entry, an unreadable --auth-file, or one with no entry.
    """
    pairs: list[tuple[str, str]] = []
    if env_value and env_value.strip():
        pairs += parse_credentials(env_value, ENV_AUTH, separator=",")
    if auth_file:
        path = Path(auth_file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise SettingsError(f"cannot read --auth-file {path}: {err.strerror or err}") from None
        found = parse_credentials(text, f"--auth-file {path}")
        if not found:
            raise SettingsError(f"--auth-file {path} has no `user:password` line")
        pairs += found
    return pairs or None
