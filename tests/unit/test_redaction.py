"""Redaction: every rule of tenantkit/observability/redaction.py, on copies, at any depth, and
the fast path (one trigger scan of the serialized line) never skipping what the rules catch."""

from __future__ import annotations

import copy
import json
import uuid
from urllib.parse import quote, quote_plus, unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.tokens import entra_claims, rsa_key, sign
from tenantkit.observability import get_logger
from tenantkit.observability.contract import REDACTED
from tenantkit.observability.redaction import dumps_redacted, redact, redact_text

JWT3 = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsInRpZCI6ImFjbWUifQ.c2lnbmF0dXJlLWJ5dGVz"
JWE5 = "eyJhbGciOiJSU0EtT0FFUCJ9.cXVpdGUtc2VjcmV0LWtleQ.aXYtaXYtaXY.Y2lwaGVydGV4dA.dGFnLXRhZw"
SENSITIVE_KEYS = [
    "Authorization", "AUTHORIZATION", "authorization", "Proxy-Authorization", "proxy_authorization", "Cookie",
    "cookies", "set-cookie", "Set_Cookie", "SET-COOKIE", "X-Amz-Security-Token", "x_amz_security_token",
    "SessionToken", "sessiontoken", "session-token", "SecretAccessKey", "secret_access_key", "client_secret",
    "Client-Secret", "token", "Token", "id_token", "ID-TOKEN", "access_token", "refresh_token", "password",
    "Password", "secret", "code", "Code", "aws_secret_access_key", "AWS_SESSION_TOKEN", "credentials",
    "Credentials", "x-api-key", "X-API-KEY", "api_key", " Authorization ",
    # the class: exact names and names ending in a credential word
    "apiKey", "APIKEY", "passwd", "db_password", "DB-PASSWD", "passphrase", "private_key", "privateKey",
    "ssh-private-key", "signature", "X-Amz-Signature", "client_assertion", "github_token", "csrfToken",
    "api_secret", "aws_credentials", "Proxy-Authorization", "set_cookie", "secret_key", "webhook_signature",
]
NEAR_MISS_KEYS = ["input_tokens", "output_tokens", "status_code", "tokens", "codename", "secretary", "author",
                  "cookie_consent", "session_id", "tenant_id", "token_type", "authorization_url", "message",
                  "signature_algorithm", "password_policy", "api_key_id", "private", "key", "public_key", "keyword"]


def dumps_slow(record):
    return json.dumps(redact(record), default=str, separators=(",", ":"))


@pytest.mark.parametrize("key", SENSITIVE_KEYS)
def test_sensitive_keys_any_case_and_separator(key):
    record = {key: "opaque-value-42", "nested": {"list": [{key: ["a", {"b": "c"}]}]}, "keep": "visible-7"}
    out = json.loads(dumps_redacted(record))
    assert out[key] == REDACTED
    assert out["nested"]["list"][0][key] == REDACTED  # containers under the key are replaced whole
    assert out["keep"] == "visible-7"
    assert "opaque-value-42" not in dumps_redacted(record)


@pytest.mark.parametrize("key", NEAR_MISS_KEYS)
def test_near_miss_keys_are_kept(key):
    assert json.loads(dumps_redacted({key: "plain-value"})) == {key: "plain-value"}


def test_empty_and_null_values_under_sensitive_keys_stay_as_they_are():
    assert redact({"Authorization": None, "Cookie": "", "code": 0}) == {"Authorization": None, "Cookie": "",
                                                                        "code": REDACTED}


def test_nested_dicts_lists_and_tuples():
    record = {"a": [{"b": ({"c": {"Authorization": "Bearer x"}}, f"jwt {JWT3}")}], "t": ("x", JWT3)}
    assert redact(record) == {"a": [{"b": [{"c": {"Authorization": REDACTED}}, f"jwt {REDACTED}"]}],
                              "t": ["x", REDACTED]}


@pytest.mark.parametrize(("text", "expected"), [
    (f"token was {JWT3} ok", f"token was {REDACTED} ok"),
    (f"jwe {JWE5}.", f"jwe {REDACTED}."),
    (f"glued:{JWT3},{JWT3}", f"glued:{REDACTED},{REDACTED}"),
    ("Authorization: Bearer abc.def-ghi_jkl~+/=", f"Authorization: {REDACTED}"),
    ("sent Bearer xyz to upstream", f"sent Bearer {REDACTED} to upstream"),
    ("header basic abc then", f"header basic {REDACTED} then"),
    ("Basic Bearer abc then", f"Basic {REDACTED} then"),
    ("BASIC YWxpY2U6c2VjcmV0", f"BASIC {REDACTED}"),
    ("https://x/cb?code=AUTH123&state=s1", f"https://x/cb?code={REDACTED}&state=s1"),
    ("/p?a=1&token=TOK123#frag", f"/p?a=1&token={REDACTED}#frag"),
    ("/p?id_token=IDT&access_token=ACC", f"/p?id_token={REDACTED}&access_token={REDACTED}"),
    ("/p?refresh_token=R1&client_secret=S1", f"/p?refresh_token={REDACTED}&client_secret={REDACTED}"),
    ("/p?refresh_token=R1;client_secret=S1", f"/p?refresh_token={REDACTED}"),  # ";" is not a separator
    ("s3?X-Amz-Signature=abcdef&X-Amz-Credential=AKIA%2F2026&X-Amz-Security-Token=FwoG",
     f"s3?X-Amz-Signature={REDACTED}&X-Amz-Credential={REDACTED}&X-Amz-Security-Token={REDACTED}"),
    ("Cookie: a=b; c=d\nnext line", f"Cookie: {REDACTED}\nnext line"),
    ("set-cookie: sid=1; HttpOnly", f"set-cookie: {REDACTED}"),
    ("x-amz-security-token = FwoGZXIv", f"x-amz-security-token = {REDACTED}"),
    ('{"SecretAccessKey": "wJalrXUtnFEMI", "AccessKeyId": "ASIA1"}',
     f'{{"SecretAccessKey": "{REDACTED}", "AccessKeyId": "ASIA1"}}'),
    ('creds={\\"SessionToken\\": \\"FwoGZXIvYXdz\\"}', f'creds={{\\"SessionToken\\": \\"{REDACTED}\\"}}'),
    ("aws_session_token=IQoJb3JpZ2lu other", f"aws_session_token={REDACTED} other"),
    ("nothing to see, status_code=200 input_tokens: 12", "nothing to see, status_code=200 input_tokens: 12"),
])
def test_shapes_inside_text(text, expected):
    assert redact_text(text) == expected
    assert json.loads(dumps_redacted({"message": text}))["message"] == expected


def test_escaped_json_inside_a_string_field():
    inner = json.dumps({"Credentials": {"SessionToken": "FwoGZXIvYXdzEXAMPLE", "SecretAccessKey": "wJalrEXAMPLE"}})
    line = dumps_redacted({"message": "assumed role", "body": inner})
    assert "FwoGZXIvYXdzEXAMPLE" not in line and "wJalrEXAMPLE" not in line
    assert json.loads(json.loads(line)["body"])["Credentials"]["SessionToken"] == REDACTED


def test_bytes_values():
    out = json.loads(dumps_redacted({"raw": f"Authorization: Bearer {JWT3}".encode(), "plain": b"hello \xff"}))
    assert out["raw"] == f"Authorization: {REDACTED}"
    assert out["plain"] == "hello \ufffd"  # decoded (invalid UTF-8 replaced), like every other path


def test_exception_text_is_redacted(capsys):
    logger = get_logger("redaction-test")
    try:
        raise ValueError(f"could not verify {JWT3} from Authorization: Bearer {JWT3}")
    except ValueError:
        logger.exception("verification failed")
    output = capsys.readouterr().out
    (line,) = output.splitlines()
    record = json.loads(line)
    assert record["exception_name"] == "ValueError"
    assert REDACTED in record["exception"] and "could not verify" in record["exception"]
    for segment in JWT3.split("."):
        assert segment not in output


def test_input_is_never_mutated(capsys):
    record = {"headers": {"Authorization": f"Bearer {JWT3}", "Cookie": "sid=1"}, "msg": f"t={JWT3}",
              "items": [{"code": "abc"}, (JWT3, b"x")], "n": 1}
    before = copy.deepcopy(record)
    redact(record)
    dumps_redacted(record)
    get_logger("redaction-test").info(record, extra={"extra_event": record})
    assert record == before
    assert JWT3 not in capsys.readouterr().out


def test_depth_bomb_does_not_crash(capsys, monkeypatch):
    bomb: dict = {"leaf": JWT3}
    for _ in range(5000):
        bomb = {"a": bomb, "list": [bomb]} if _ < 3 else {"a": bomb}
    cyclic: list = [JWT3]
    cyclic.append(cyclic)
    line = dumps_redacted({"bomb": bomb, "cyclic": cyclic})
    assert JWT3 not in line and json.loads(line)["cyclic"][0] == REDACTED
    logger = get_logger("redaction-test")
    # pytest's log capture (on the root logger) would str() the record itself; only ours is under test
    monkeypatch.setattr(logger._logger, "propagate", False)
    logger.info({"bomb": bomb})
    assert JWT3 not in capsys.readouterr().out


def test_token_used_as_a_key_is_redacted():
    line = dumps_redacted({"cache": {JWT3: "cached", "plain-key": 1}})
    assert JWT3 not in line and json.loads(line)["cache"]["plain-key"] == 1


# --- properties ---------------------------------------------------------------------------

FRAGMENTS = ["password=", "Passwd", "pa\u017fsword", "x-api-key: ", "apikey=", "api_key", "api-key", "private_key",
             "Private-Key", "-----BEGIN" " RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "client_secret",
             "signature", "%20", "%3D", "%3A", "%22", "%25", "%2", "%", "+", "Bearer%20", "Bearer+", "%42earer%20",
             "token%3D", "%74oken=", "%2574oken%253D", "passphrase", "client_assertion", "\u2028", "\u0130", "\u0131",
             "eyJ", "eyJhbGciOiJIUzI1NiJ9", ".", "..", "Bearer ", "bearer", "Basic", "?code=", "&token=",
             "id_token=", "token", "Token", 'token":', 'token\\":', "token =", "Secret", "SecretAccessKey",
             "SessionToken", "access_token", "x-amz-security-token", "X-Amz-Signature=", "credential", "sig=",
             "Cookie: ", "\n:", "\t= ", "\r\n: ", ":\x0c",
             "authorization", "=", ":", '"', "'", "\\", "\n", "\r", "\t", "\x0b", "\x00", " ", "&", "?", ";",
             ",", "}", "{", "\u017f", "\u212a", "\u00e9", "abc", "XYZ", "0123", "_-", JWT3, JWE5]
texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=8).map("".join)
keys = st.one_of(st.sampled_from(SENSITIVE_KEYS + NEAR_MISS_KEYS), texts, st.integers(-3, 3))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), texts, st.binary(max_size=12),
                    st.builds(bytes, texts.map(str.encode)))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                            st.frozensets(texts, max_size=3), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=24,
)
records = st.dictionaries(keys, values, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_fast_path_is_sound(record):
    """The single trigger scan may only skip the rules when the rules would change nothing."""
    assert dumps_redacted(record) == dumps_slow(record)


GATE_NAMES = ["token", "Token", "access_token", "SessionToken", "x-amz-security-token", "status_code", "input_tokens",
              "password", "Passwd", "apikey", "x-api-key", "private_key", "signature", "client_assertion", "%74oken",
              "pa\u017fsword", "to%6Ben"]
GATE_SEPARATORS = ["", " ", "\n", "\t", "\r\n", "\x0b", "\x0c", "\b", '"', "'", '\\"', '"\n', "\\", ",", "-", "+",
                   "%20", "%3D", "%253A"]
gate_texts = st.lists(
    st.tuples(st.sampled_from(GATE_NAMES), st.sampled_from(GATE_SEPARATORS),
              st.sampled_from([":", "=", "", " ", "%3D", "%3a"]),
              st.sampled_from(GATE_SEPARATORS), st.sampled_from(["abc1", "", "x y"])).map("".join),
    min_size=1, max_size=3,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(gate_texts)
def test_trigger_scan_sees_through_json_escapes(text):
    """The gate scans the serialized line, where a newline after a name is written as \\n:
    a rule that matches the raw text must still be triggered there."""
    assert dumps_redacted({"message": text}) == dumps_slow({"message": text})


TOKEN68 = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/=-", max_size=20)
claims = st.dictionaries(st.text(alphabet="abcdefghij", min_size=1, max_size=6),
                         st.one_of(st.text(max_size=12), st.integers()), max_size=4)


@st.composite
def planted(draw):
    """A random record with secrets planted in random string places: (record, secrets)."""
    record = draw(records)
    marker = draw(st.uuids()).hex
    jwt = sign({**draw(claims), **entra_claims(now=1_795_867_200), "jti": marker}, rsa_key())
    bearer = f"plant{marker}{draw(TOKEN68)}"
    opaque = f"opaque{marker}"
    pieces = [f"{draw(texts)}{jwt}{draw(texts)}", f"{draw(texts)} Bearer {bearer}", f"Basic {bearer}"]
    containers = [record]
    stack = [record]
    while stack:
        item = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                containers.append(child)
                stack.append(child)
    for piece in pieces:
        target = draw(st.sampled_from(containers))
        if isinstance(target, dict):
            target[draw(texts) + "_" + str(len(target))] = piece
        else:
            target.insert(draw(st.integers(0, len(target))), piece)
    record[draw(st.sampled_from(SENSITIVE_KEYS))] = draw(st.sampled_from(
        [opaque, [opaque], {"nested": opaque}, opaque.encode(), f"x {opaque} y"]))
    return record, [jwt, bearer, opaque]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planted())
def test_planted_secrets_never_reach_the_line(case):
    record, secrets = case
    line = dumps_redacted(record)
    for secret in secrets:
        assert secret not in line
    assert json.loads(line) is not None


def test_planted_secrets_strategy_is_not_vacuous():
    """The planted strings really hold the secrets before redaction (else the property proves nothing)."""
    marker = uuid.uuid4().hex
    record = {"m": f"Bearer plant{marker}", "Cookie": f"opaque{marker}"}
    assert f"plant{marker}" in json.dumps(record) and f"plant{marker}" not in dumps_redacted(record)


@pytest.mark.parametrize("key", ["refreshToken", "clientSecret", "accessToken", "idToken", "sessionToken",
                                 "X_AMZ_SECURITY_TOKEN", "set_cookie", "Proxy-Authorization"])
def test_camel_and_mixed_case_sensitive_keys(key):
    line = dumps_redacted({"outer": {key: "opaque-value-123"}})
    assert "opaque-value-123" not in line


@pytest.mark.parametrize("key", ["input_tokens", "output_tokens", "status_code", "tokens", "codename"])
def test_near_miss_keys_are_not_redacted(key):
    assert "kept-value" in dumps_redacted({key: "kept-value"})


@pytest.mark.parametrize("body", ['{"token": "OPAQUE-SECRET-1"}', '{"refreshToken": "OPAQUE-SECRET-1"}',
                                  '{"accessToken":"OPAQUE-SECRET-1"}', '{"client-secret": "OPAQUE-SECRET-1"}',
                                  'sessionToken=OPAQUE-SECRET-1'])
def test_token_fields_inside_a_logged_body_string(body):
    line = dumps_redacted({"message": {"body": body}})
    assert "OPAQUE-SECRET-1" not in line



# --- the rules added for passwords, API keys, private keys, signatures, encodings ------------------

PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"


@pytest.mark.parametrize(("text", "expected"), [
    ("login password=hunter2&next=1", f"login password={REDACTED}&next=1"),
    ("/p?user=a&password=hunter2", f"/p?user=a&password={REDACTED}"),
    ("db passwd: hunter2 ok", f"db passwd: {REDACTED} ok"),
    ('{"Password": "hunter2"}', f'{{"Password": "{REDACTED}"}}'),
    ("X-Api-Key: k-123456", f"X-Api-Key: {REDACTED}"),
    ("x-api-key=k-123456", f"x-api-key={REDACTED}"),
    ("/v1?apikey=k-123456&x=1", f"/v1?apikey={REDACTED}&x=1"),
    ("cfg api_key: k-123456", f"cfg api_key: {REDACTED}"),
    ('{"client_secret":"cs-1"}', f'{{"client_secret":"{REDACTED}"}}'),
    ("private_key=abc123", f"private_key={REDACTED}"),
    ('"privateKey": "abc123"', f'"privateKey": "{REDACTED}"'),
    ("webhook signature=abcdef0123", f"webhook signature={REDACTED}"),
    ('{"signature": "abcdef0123"}', f'{{"signature": "{REDACTED}"}}'),
    (f"key -----BEGIN" f" RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY----- done",
     f"key {REDACTED} done"),
    (f"-----BEGIN" f" PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----", REDACTED),
    (f"-----BEGIN" f" ENCRYPTED PRIVATE KEY-----{PEM_BODY}-----END ENCRYPTED PRIVATE KEY-----", REDACTED),
    (f"-----BEGIN" f" EC PRIVATE KEY-----\n{PEM_BODY}\n-----END EC PRIVATE KEY-----", REDACTED),
    (f"-----BEGIN" f" OPENSSH PRIVATE KEY-----\n{PEM_BODY}", REDACTED),  # cut off: to the end of the text
    ("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
     "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"),
    ("/cb?x=Bearer%20abc.def", f"/cb?x=Bearer {REDACTED}"),
    ("/cb?x=Bearer+abc.def", f"/cb?x=Bearer {REDACTED}"),
    ("/cb?x=Authorization%3A%20Bearer%20abc", f"/cb?x=Authorization: {REDACTED}"),
    ("/cb?next=%2Fauth%3Fcode%3DAUTH123%26state%3Ds", f"/cb?next=/auth?code={REDACTED}&state=s"),
    ("/cb?next=%252Fauth%253Ftoken%253DTOK123", f"/cb?next=/auth?token={REDACTED}"),  # encoded twice
    ("/p/%74oken=TOK123", f"/p/token={REDACTED}"),  # a letter encoded
    ("/p/%70assword%3Dhunter2", f"/p/password={REDACTED}"),
    ("/p/pa\u017fsword=hunter2", f"/p/pa\u017fsword={REDACTED}"),  # (?i) lets the long s stand for "s"
    ("/v1/sessions/%2F..%2F", "/v1/sessions/%2F..%2F"),  # encoded, but nothing secret: left as is
    ("100% sure, 20%3D is not a key", "100% sure, 20%3D is not a key"),
])
def test_new_shapes_inside_text(text, expected):
    assert redact_text(text) == expected
    assert json.loads(dumps_redacted({"message": text}))["message"] == expected


CREDENTIAL_SHAPES = [
    "Authorization: Bearer {s}", "Bearer {s}", "Basic {s}", "/cb?code={s}&x=1", "/p?token={s}",
    "/p?a=1&access_token={s}",
    "/p?id_token={s}", "/p?refresh_token={s}", "/p?client_secret={s}", "/p?password={s}", "/p?passwd={s}",
    "/p?api_key={s}", "/p?apikey={s}", "/p?x-api-key={s}", "/p?private_key={s}", "/p?signature={s}",
    "/p?X-Amz-Signature={s}", "/p?X-Amz-Security-Token={s}", "/p?sig={s}", "x-api-key: {s}", "X-Api-Key={s}",
    "Cookie: sid={s}", "Set-Cookie: sid={s}", "password={s}", "passwd: {s}", "passphrase={s}", '"client_secret": "{s}"',
    '{{"private_key":"{s}"}}', "apikey={s}", '"signature": "{s}"', "SessionToken={s}", '"SecretAccessKey": "{s}"',
    "client_assertion={s}", "-----BEGIN" " RSA PRIVATE KEY-----\n{s}\n-----END RSA PRIVATE KEY-----",
    "-----BEGIN" " OPENSSH PRIVATE KEY-----\n{s}",
]


def _encode_all(text: str) -> str:
    return "".join(f"%{b:02X}" for b in text.encode())


ENCODINGS = {
    "plain": lambda t: t,
    "quoted": lambda t: quote(t, safe=""),
    "quoted-twice": lambda t: quote(quote(t, safe=""), safe=""),
    "form": lambda t: quote_plus(t),
    "every-byte": _encode_all,
    "every-byte-twice": lambda t: quote(_encode_all(t), safe=""),
}


@st.composite
def encoded_credentials(draw):
    """A credential in one of the shapes the rules know, in any percent-encoding, in a path."""
    secret = "S3cr3t" + draw(st.uuids()).hex
    text = draw(st.sampled_from(CREDENTIAL_SHAPES)).format(s=secret)
    mask = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    encoding = draw(st.sampled_from([*ENCODINGS, "some-bytes"]))
    if encoding == "some-bytes":  # any subset of the characters encoded: what a client may send
        encoded = "".join(_encode_all(c) if m else c for c, m in zip(text, mask, strict=True))
    else:
        encoded = ENCODINGS[encoding](text)
    where = draw(st.sampled_from(["path", "message", "nested"]))
    return secret, f"/v1/sessions/{draw(st.sampled_from(['a', 'b%2Fc', 'x y']))}/{encoded} tail", where


@settings(max_examples=250, deadline=None)
@given(encoded_credentials())
def test_no_credential_shape_survives_any_percent_encoding(case):
    secret, text, where = case
    record = {"route": text} if where == "path" else {"message": text} if where == "message" else {"a": [{"b": text}]}
    line = dumps_redacted(record)
    for view in (line, unquote(line), unquote(unquote(unquote(line)))):
        assert secret not in view
    assert dumps_redacted(record) == dumps_slow(record)


def test_encoded_credentials_strategy_is_not_vacuous():
    secret = "S3cr3tdeadbeef"
    text = f"/v1/{_encode_all(f'Bearer {secret}')}"
    assert secret in unquote(text) and secret not in unquote(dumps_redacted({"route": text}))
