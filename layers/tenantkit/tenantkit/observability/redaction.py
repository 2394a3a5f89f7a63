"""Secret scrubbing for everything we emit: logs, audit lines, trace metadata.

Works on copies (the caller's event is never mutated) and on any shape: the message,
extra keys, nested dicts and lists, exception text. Two kinds of rule:

* by key: values under a sensitive key (any case, ``-``/``_`` alike; an exact name, or a name
  ending in a credential word such as ``..._token``, ``..._secret``, ``..._password``) are
  replaced whole;
* by shape: JWT-like strings, ``Bearer`` credentials, ``?code=``/``?token=``/``password=``
  query values, credential header lines (``Cookie:``, ``X-Api-Key:``), PEM private key blocks,
  and keyed credentials (``SessionToken``, ``client_secret``, ``apikey``, ``signature`` ...)
  inside free text are replaced where they stand.

Request paths and query strings carry text percent-encoded, once or more (``Bearer%20...``,
``token%3D...``, ``%2574oken``): a string with ``%`` is also decoded (up to three rounds) and, if
any rule fires on the decoded form, the decoded form with the rules applied is written instead.
So every rule holds in every percent-encoding, not just the ones spelled out.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from tenantkit.observability.contract import REDACTED

SENSITIVE_KEYS: frozenset[str] = frozenset(
    {
        "authorization",
        "proxy_authorization",
        "cookie",
        "cookies",
        "set_cookie",
        "x_amz_security_token",
        "token",
        "id_token",
        "access_token",
        "refresh_token",
        "client_secret",
        "password",
        "secret",
        "code",
        "secretaccesskey",
        "secret_access_key",
        "aws_secret_access_key",
        "sessiontoken",
        "session_token",
        "aws_session_token",
        "credentials",
        "x_api_key",
        "api_key",
        "apikey",
        "passwd",
        "passphrase",
        "private_key",
        "signature",
        "client_assertion",
    }
)
# A key whose normalized name ends with one of these is a credential too (``github_token``,
# ``db_password``, ``x_amz_signature``, ``api_secret``): the class, not a list of examples.
SENSITIVE_KEY_SUFFIXES: tuple[str, ...] = ("token", "secret", "password", "passwd", "passphrase", "apikey",
                                           "privatekey", "secretkey", "signature", "authorization",
                                           "cookie", "credentials")

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}(?:\.[A-Za-z0-9_-]*){1,3}")
# A scheme word right after another ("Basic Bearer <credential>") is not the credential. "+" is
# a space in form-encoded text ("Bearer+abc").
_BEARER = re.compile(r"(?i)\b(bearer|basic)(?:(?:\s|\+)+(?:bearer|basic)\b)*(?:\s|\+)+[A-Za-z0-9._~+/=-]+")
_QUERY = re.compile(
    r"(?i)([?&;](?:code|token|id_token|access_token|refresh_token|client_secret|x-amz-security-token"
    r"|x-amz-signature|x-amz-credential|sig|signature|password|passwd|api_key|apikey|x-api-key|private_key"
    r"|client_assertion)=)[^&#\s\"']+"
)
_HEADER_LINE = re.compile(
    r"(?i)\b(authorization|cookie|set-cookie|x-amz-security-token|x-api-key|api-key)(\s*[:=]\s*)[^\r\n\"]+"
)
# Quotes may be backslash-escaped (JSON text held inside a JSON string: \"SessionToken\": \"...\").
# "+" counts as a space around the separator: form-encoded JSON is '"signature":+"..."' once decoded.
_KEYED_TEXT = re.compile(
    r"(?i)(\\?[\"']?(?:(?:aws[-_]?)?secret[-_]?access[-_]?key|(?:aws[-_]?)?session[-_]?token"
    r"|client[-_]?secret|refresh[-_]?token|access[-_]?token|id[-_]?token|token"
    r"|pass(?:word|wd|phrase)|(?:x[-_]?)?api[-_]?key|private[-_]?key|client[-_]?assertion|signature)"
    r"\\?[\"']?[\s+]*[:=][\s+]*\\?[\"']?)"  # "+" is a space in form-encoded text
    r"[^\"'\s,}&#\\]+"
)
# PEM private keys of every kind (RSA, EC, OPENSSH, ENCRYPTED, PGP ... BLOCK), up to the END line
# or, when the block was cut off, to the end of the text.
# Spaces may arrive as "+" (form encoding).
_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN[ +][A-Z0-9 +]*PRIVATE[ +]KEY(?:[ +]BLOCK)?-----.*?"
    r"(?:-----END[ +][A-Z0-9 +]*PRIVATE[ +]KEY(?:[ +]BLOCK)?-----|\Z)",
    re.DOTALL | re.IGNORECASE,
)
# Fast-path gate: a superset of every text rule above (each rule's match implies a hit here,
# also inside JSON-escaped text), made of plain substring tests on the lowered text, which are
# far cheaper than the rules. A serialized line with no sensitive key and no hit is emitted
# as is; anything else goes through the full rules.
_TRIGGER_WORDS = ("eyj", "bearer", "basic", "authorization", "cookie", "secret", "credential",
                  "signature", "code=", "sig=", "passw", "passphrase", "apikey", "api_key", "api-key",
                  "private", "assertion")
# Also across JSON escapes in the serialized line ("token\n:" is serialized as token\\n:).
_TOKEN_ASSIGNMENT = re.compile(r"token(?:\W|\\u[0-9a-f]{4}|\\[a-z])*[:=]")
_MAX_DECODE_ROUNDS = 3


def _percent_decoded(text: str) -> str:
    """``text`` percent-decoded until stable (at most three rounds: ``%25``-wrapped forms too)."""
    for _ in range(_MAX_DECODE_ROUNDS):
        if "%" not in text:
            break
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


# Python's case-insensitive matching also lets these stand for ASCII letters ((?i)s matches the
# long s U+017F): the gate folds them first, or "pa<long s>sword=" would pass it and match a rule.
_REGEX_CASE_FOLDS = str.maketrans({"\u017f": "s", "\u0131": "i", "\u0130": "i", "\u212a": "k"})


def _folded(text: str) -> str:
    return (text if text.isascii() else text.translate(_REGEX_CASE_FOLDS)).lower()


def _triggered_plain(lowered: str) -> bool:
    for word in _TRIGGER_WORDS:  # a loop, not any(<generator>): this runs for every line
        if word in lowered:
            return True
    return "token" in lowered and _TOKEN_ASSIGNMENT.search(lowered) is not None


def _triggered(text: str) -> bool:
    if _triggered_plain(_folded(text)):
        return True
    return "%" in text and _triggered_plain(_folded(_percent_decoded(text)))


_key_verdicts: dict[str, bool] = {}


def normalize_key(key: str) -> str:
    """``Refresh-Token``, ``refresh_token`` and ``refreshToken`` are one key."""
    return key.strip().lower().replace("-", "").replace("_", "")


_NORMALIZED_SENSITIVE_KEYS = frozenset(normalize_key(k) for k in SENSITIVE_KEYS)


def is_sensitive_key(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    verdict = _key_verdicts.get(key)
    if verdict is None:
        normalized = normalize_key(key)
        verdict = normalized in _NORMALIZED_SENSITIVE_KEYS or normalized.endswith(SENSITIVE_KEY_SUFFIXES)
        if len(_key_verdicts) < 4096:
            _key_verdicts[key] = verdict
    return verdict


def has_sensitive_key(value: Any, _depth: int = 0) -> bool:
    if _depth > 32:
        return True
    if isinstance(value, dict):
        return any(is_sensitive_key(k) or has_sensitive_key(v, _depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(has_sensitive_key(v, _depth + 1) for v in value)
    return False


def _json_default(value: Any) -> Any:
    """Serialize what JSON cannot as ``redact`` does, so the fast path writes the same line."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, set | frozenset):
        return list(value)
    return str(value)


def dumps_redacted(record: dict[str, Any]) -> str:
    """Serialize ``record`` as one JSON line of ASCII with every rule applied.

    ASCII-escaped (``\\u2028``, not the character): U+2028, U+2029 and U+0085 are line breaks to
    some readers, and a record split in two is two broken records downstream.
    """
    if not has_sensitive_key(record):
        # The gate scans the unescaped text (an escape would hide a letter from it); ASCII text
        # is already what ensure_ascii=True would write, so only non-ASCII lines serialize twice.
        text = json.dumps(record, default=_json_default, separators=(",", ":"), ensure_ascii=False)
        if not _triggered(text):
            return text if text.isascii() else json.dumps(record, default=_json_default, separators=(",", ":"))
    return json.dumps(redact(record), default=str, separators=(",", ":"))


def _not_serializable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# json.dumps(value, separators=(",", ":")) builds this C encoder on every call; built once here it
# writes the same bytes (the same function, the same options) with no per-call setup.
_C_ENCODER = getattr(json.encoder, "c_make_encoder", None)
_ENCODE_FLAT = _C_ENCODER(None, _not_serializable, json.encoder.encode_basestring_ascii, None, ":", ",",
                          False, False, True) if _C_ENCODER is not None else None


def dumps_scalars(value: dict[str, Any] | list[Any]) -> str:
    """``json.dumps(value, separators=(",", ":"))`` for a flat dict (str keys) or list of scalars
    (no circular-reference check: nothing flat can hold itself)."""
    if _ENCODE_FLAT is None:
        return json.dumps(value, separators=(",", ":"))
    return "".join(_ENCODE_FLAT(value, 0))


_SCALARS = (str, int, float, bool, type(None))
_clean_key_sets: dict[tuple[Any, ...], bool] = {}


def dumps_flat_record(record: dict[str, Any]) -> str:
    """``dumps_redacted(record)``, cheaper for a flat record whose keys repeat (audit lines).

    For a key set with no sensitive key and no key a text rule could touch (one cached verdict
    per key set) and scalar values, the only thing redaction could change is a string value, and
    ``redact_text`` changes a value only if the value itself triggers the rules. So the gate is the
    string values (joined: a superset of each one's triggers), not the whole serialized line with
    its keys; a hit takes the full path. Same output as ``dumps_redacted`` for every input (a
    property test holds the two byte-equal).
    """
    keys = tuple(record)
    clean = _clean_key_sets.get(keys)
    if clean is None:
        clean = flat_keys_clean(keys)
        if len(_clean_key_sets) < 256:
            _clean_key_sets[keys] = clean
    if clean and all(type(value) in _SCALARS for value in record.values()):
        return dumps_clean_flat(record)
    return dumps_redacted(record)


def flat_keys_clean(keys: tuple[str, ...]) -> bool:
    """Whether ``dumps_flat_record`` treats this key set as clean: no key is sensitive, none
    triggers a text rule (so for scalar values only the string values could change)."""
    return not any(is_sensitive_key(key) or (isinstance(key, str) and _triggered(key)) for key in keys)


def is_text_clean(text: str | None) -> bool:
    """Whether ``redact_text`` leaves ``text`` as it is for certain (no rule could fire on it)."""
    return text is None or not _triggered(text)


def dumps_clean_flat(record: dict[str, Any]) -> str:
    """``dumps_flat_record(record)`` for a record the caller knows is flat, of scalar values,
    and whose key set ``flat_keys_clean`` admits (an audit record: a closed, validated schema):
    the same gate on the string values and the same line, without re-deriving what is known."""
    if not _triggered("\n".join([value for value in record.values() if type(value) is str])):
        return dumps_scalars(record)  # json.dumps(record, separators=(",", ":")): ASCII, as dumps_redacted writes
    return json.dumps(redact(record), default=str, separators=(",", ":"))


def _apply_rules(text: str) -> str:
    text = _PEM_PRIVATE_KEY.sub(REDACTED, text)
    text = _JWT.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _HEADER_LINE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _QUERY.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return _KEYED_TEXT.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


def redact_text(text: str) -> str:
    if not _triggered(text):
        return text
    text = _apply_rules(text)
    if "%" in text:
        decoded = _percent_decoded(text)
        if decoded != text:
            redacted = _apply_rules(decoded)
            if redacted != decoded:  # a credential hid behind percent-encoding: write the decoded form
                return redacted
    return text


def redact(value: Any, *, _depth: int = 0) -> Any:
    """A redacted copy of ``value``; containers are rebuilt, never modified in place."""
    if isinstance(value, str):
        return redact_text(value)
    if _depth > 32:  # pathological nesting: drop rather than recurse forever
        return REDACTED
    if isinstance(value, dict):
        return {
            redact_text(key) if isinstance(key, str) else key:
                REDACTED if is_sensitive_key(key) and item not in (None, "") else redact(item, _depth=_depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item, _depth=_depth + 1) for item in value]
    if isinstance(value, bytes | bytearray):
        return redact_text(bytes(value).decode("utf-8", errors="replace"))
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact_text(str(value))
