"""tenantkit.aws: the one home of client creation, error codes and jittered backoff."""

from __future__ import annotations

import random

from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit import aws


def test_client_has_standard_retries_with_the_given_attempts_and_timeouts(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = aws.client("s3", max_attempts=1, connect_timeout=1, read_timeout=2)
    config = client.meta.config
    # botocore normalizes the Config's max_attempts (retries) into total_max_attempts (calls)
    assert config.retries == {"total_max_attempts": 2, "mode": "standard"}
    assert (config.connect_timeout, config.read_timeout) == (1, 2)


def test_error_code_of_client_errors_and_anything_else():
    error = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "DiscoverInstances")
    assert aws.error_code(error) == "ThrottlingException"
    assert aws.error_code(ClientError({}, "Op")) is None
    assert aws.error_code(RuntimeError("x")) is None
    odd = RuntimeError("x")
    odd.response = {"Error": "not a mapping"}  # type: ignore[attr-defined]
    assert aws.error_code(odd) is None


@settings(max_examples=200, deadline=None)
@given(attempt=st.integers(0, 200), base=st.floats(0.001, 5), cap=st.floats(0.001, 60), seed=st.integers(0, 2**32))
def test_backoff_stays_within_the_capped_exponential_step(attempt, base, cap, seed):
    step = min(cap, base * 2 ** min(attempt, 32))
    full = aws.jittered_backoff(random.Random(seed), attempt, base=base, cap=cap)
    equal = aws.jittered_backoff(random.Random(seed), attempt, base=base, cap=cap, equal=True)
    assert 0 <= full <= step
    assert step / 2 <= equal <= step
