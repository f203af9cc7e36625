"""Finding, reading and validating protocol files.

A protocol is named either by a bundled name (``"patina"``) or by a path to a
TOML file. Validation errors are rewritten from pydantic's nested locations to
the dotted paths a user sees in their file (``arms[1].regimen[0].days_on``).
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from oncotrial.protocol.errors import ProtocolError
from oncotrial.protocol.models import Protocol


def bundled_protocols() -> list[str]:
    """Names of the protocols shipped with oncotrial."""
    folder = resources.files("oncotrial") / "protocols"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def protocol_path(name_or_path: str | Path) -> Path:
    """The file a protocol name or path refers to; a bundled name wins over a missing path or a folder."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.is_file():
        if not p.is_file():
            raise ProtocolError(str(p), ["file not found"])
        return p
    bundled = bundled_protocols()
    if str(name_or_path) in bundled:
        return Path(str(resources.files("oncotrial") / "protocols" / f"{name_or_path}.toml"))
    if p.is_dir():
        raise ProtocolError(str(p), ["is a folder, not a protocol file"])
    raise ProtocolError(str(name_or_path), [
        f"not a file and not a bundled protocol (bundled: {', '.join(bundled)})"])


def load_protocol(name_or_path: str | Path) -> Protocol:
    """Read and validate a protocol.

    Example
    -------
    >>> p = load_protocol("patina")
    >>> [a.code for a in p.arms]
    ['A', 'B']
    """
    path = protocol_path(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(str(path), [f"not valid TOML: {exc}"]) from exc
    return protocol_from_dict(data, source=str(path))


def protocol_from_dict(data: dict, *, source: str = "<dict>") -> Protocol:
    """Validate an already-parsed protocol mapping."""
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(source, [_describe(err) for err in exc.errors()]) from None


def _describe(err: dict) -> str:
    loc = _dotted(err["loc"])
    msg = err["msg"]
    # pydantic prefixes messages of our own validators; the user needs only ours.
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    if err["type"] == "extra_forbidden":
        msg = "unknown setting (check the spelling)"
    elif err["type"] == "missing":
        msg = "required setting is missing"
    # Cross-field checks of the whole protocol already name their own paths.
    return f"{loc}: {msg}" if loc else msg


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
