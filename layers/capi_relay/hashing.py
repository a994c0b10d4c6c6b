"""SHA-256 as Meta wants it, and recognising values a caller already hashed."""

from __future__ import annotations

from hashlib import sha256

_HEX_DIGITS = "0123456789abcdefABCDEF"


def sha256_hex(s: str) -> str:
    """Lowercase hex SHA-256 of the UTF-8 bytes of `s`."""
    return sha256(s.encode("utf-8")).hexdigest()


def is_sha256(s: object) -> bool:
    """True for 64 hexadecimal characters (any case): a value already hashed, never hashed twice."""
    return isinstance(s, str) and len(s) == 64 and not s.strip(_HEX_DIGITS)


def is_md5(s: object) -> bool:
    """True for 32 hexadecimal characters: looks like MD5, which Meta does not take."""
    return isinstance(s, str) and len(s) == 32 and not s.strip(_HEX_DIGITS)
