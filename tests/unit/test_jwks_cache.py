"""JwksCache on a fake clock and a counting in-memory fetcher: fetch at init, refetch on an
unknown kid at most once per 10 s, last-known-good keys through an outage for a bounded time."""

from __future__ import annotations

import threading
import time

import pytest

from support.fakes import StaticFetcher
from support.tokens import ec_key, jwk_for, jwks_document, rsa_key
from tenantkit.exceptions import (
    JwksUnavailableError,
    KeyAlgorithmMismatchError,
    KidNotFoundError,
    TokenRejectedError,
    WeakKeyError,
)
from tenantkit.jwks import JwksCache, VerificationKey

URI = "https://idp.example/common/discovery/v2.0/keys"
OTHER_URI = "https://other-idp.example/keys"

DOC_K1 = jwks_document(jwk_for(rsa_key(), "k1"))
DOC_K2 = jwks_document(jwk_for(rsa_key(name="rotated"), "k2"))


@pytest.fixture
def fetcher() -> StaticFetcher:
    return StaticFetcher(DOC_K1)


@pytest.fixture
def cache(make_cache, fetcher: StaticFetcher) -> JwksCache:
    return make_cache(fetcher)


def test_prefetch_at_init_makes_exactly_one_fetch(cache: JwksCache, fetcher: StaticFetcher):
    assert fetcher.calls == 0  # constructing the cache fetches nothing
    assert cache.prefetch(URI) is True
    assert fetcher.calls == 1


def test_known_kid_is_served_with_no_further_fetch(cache, fetcher, clock):
    cache.prefetch(URI)
    for _ in range(50):
        key = cache.get_key(URI, "k1", "RS256")
        clock.advance(30)  # 25 minutes in all: still inside refresh_after (1 h)
    assert isinstance(key, VerificationKey)
    assert key.kid == "k1"
    assert key.key.public_numbers() == rsa_key().public_key().public_numbers()
    assert fetcher.calls == 1


def test_cold_get_key_fetches_once_then_serves_from_cache(cache, fetcher):
    assert cache.get_key(URI, "k1", "RS256").kid == "k1"
    assert cache.get_key(URI, "k1", "RS256").kid == "k1"
    assert fetcher.calls == 1


def test_unknown_kid_inside_the_penalty_interval_after_init_causes_no_fetch(cache, fetcher, clock):
    cache.prefetch(URI)
    clock.advance(9.9)
    with pytest.raises(KidNotFoundError):
        cache.get_key(URI, "nope", "RS256")
    assert fetcher.calls == 1


def test_unknown_kid_refetches_at_most_once_per_interval(cache, fetcher, clock):
    cache.prefetch(URI)
    clock.advance(10)
    with pytest.raises(KidNotFoundError):
        cache.get_key(URI, "unknown-1", "RS256")
    assert fetcher.calls == 2

    clock.advance(9.9)
    with pytest.raises(KidNotFoundError):
        cache.get_key(URI, "unknown-2", "RS256")
    with pytest.raises(KidNotFoundError):
        cache.get_key(URI, "unknown-1", "RS256")
    assert fetcher.calls == 2  # penalty box: no fetch however many kids are claimed

    clock.advance(0.1)
    with pytest.raises(KidNotFoundError):
        cache.get_key(URI, "unknown-3", "RS256")
    assert fetcher.calls == 3
    assert cache.get_key(URI, "k1", "RS256").kid == "k1"
    assert fetcher.calls == 3


def test_penalty_interval_is_configurable(make_cache, fetcher, clock):
    cache = make_cache(fetcher, min_refetch_interval_seconds=30)
    cache.prefetch(URI)
    clock.advance(29)
    with pytest.raises(KidNotFoundError):
        cache.get_key(URI, "x", "RS256")
    assert fetcher.calls == 1
    clock.advance(1)
    with pytest.raises(KidNotFoundError):
        cache.get_key(URI, "x", "RS256")
    assert fetcher.calls == 2


def test_penalty_box_is_per_uri(cache, fetcher, clock):
    cache.prefetch(URI)
    assert cache.get_key(OTHER_URI, "k1", "RS256").kid == "k1"  # other URI: its own first fetch
    assert fetcher.calls == 2


def test_rotation_new_kid_verifies_after_exactly_one_refetch(cache, fetcher, clock):
    cache.prefetch(URI)
    fetcher.document = DOC_K2
    clock.advance(10)
    key = cache.get_key(URI, "k2", "RS256")
    assert key.kid == "k2"
    assert key.key.public_numbers() == rsa_key(name="rotated").public_key().public_numbers()
    assert fetcher.calls == 2
    assert cache.get_key(URI, "k2", "RS256").kid == "k2"
    assert fetcher.calls == 2
    with pytest.raises(KidNotFoundError):  # the old key left the document: it is gone here too
        cache.get_key(URI, "k1", "RS256")
    assert fetcher.calls == 2


def test_rotation_with_overlap_keeps_both_keys(cache, fetcher, clock):
    cache.prefetch(URI)
    fetcher.document = jwks_document(jwk_for(rsa_key(name="rotated"), "k2"), jwk_for(rsa_key(), "k1"))
    clock.advance(11)
    assert cache.get_key(URI, "k2", "RS256").kid == "k2"
    assert cache.get_key(URI, "k1", "RS256").kid == "k1"
    assert fetcher.calls == 2


def test_outage_after_good_fetch_serves_last_known_good_until_stale_limit(make_cache, fetcher, clock):
    cache = make_cache(fetcher, refresh_after_seconds=60, stale_max_seconds=600)
    assert cache.prefetch(URI)
    good_at = clock.now
    fetcher.fail = True

    clock.advance(30)
    assert cache.get_key(URI, "k1", "RS256").kid == "k1"
    assert fetcher.calls == 1  # fresh: nothing to do

    clock.now = good_at + 60  # refresh is due: one attempt, it fails, last-known-good serves
    assert cache.get_key(URI, "k1", "RS256").kid == "k1"
    assert fetcher.calls == 2
    for _ in range(5):
        clock.advance(1.5)
        assert cache.get_key(URI, "k1", "RS256").kid == "k1"
    assert fetcher.calls == 2  # at most one attempt per penalty interval
    clock.now = good_at + 70
    assert cache.get_key(URI, "k1", "RS256").kid == "k1"
    assert fetcher.calls == 3

    with pytest.raises(KidNotFoundError):  # unknown kids are still unknown, not "unavailable"
        cache.get_key(URI, "unknown", "RS256")

    clock.now = good_at + 600  # exactly at the stale limit: still served
    assert cache.get_key(URI, "k1", "RS256").kid == "k1"
    clock.now = good_at + 600.5
    with pytest.raises(JwksUnavailableError):
        cache.get_key(URI, "k1", "RS256")
    clock.now = good_at + 700
    with pytest.raises(JwksUnavailableError):
        cache.get_key(URI, "k1", "RS256")

    fetcher.fail = False  # the IdP is back: the next allowed attempt restores service
    clock.advance(10)
    assert cache.get_key(URI, "k1", "RS256").kid == "k1"


def test_stale_limit_counts_from_the_last_good_fetch(make_cache, fetcher, clock):
    cache = make_cache(fetcher, refresh_after_seconds=60, stale_max_seconds=600)
    cache.prefetch(URI)
    clock.advance(300)
    assert cache.get_key(URI, "k1", "RS256")  # refresh due, succeeds: a new last-good time
    assert fetcher.calls == 2
    fetcher.fail = True
    clock.advance(599)  # 899 s after init, 599 s after the last good fetch
    assert cache.get_key(URI, "k1", "RS256").kid == "k1"
    clock.advance(2)
    with pytest.raises(JwksUnavailableError):
        cache.get_key(URI, "k1", "RS256")


@pytest.mark.parametrize("via_prefetch", [True, False])
def test_cold_start_during_outage_is_jwks_unavailable(cache, fetcher, clock, via_prefetch):
    fetcher.fail = True
    if via_prefetch:
        assert cache.prefetch(URI) is False  # logged, never raised at init
    try:
        cache.get_key(URI, "k1", "RS256")
    except JwksUnavailableError as exc:
        assert isinstance(exc, TokenRejectedError)
    else:
        pytest.fail("no exception")
    assert fetcher.calls == 1
    with pytest.raises(JwksUnavailableError):
        cache.get_key(URI, "k1", "RS256")
    assert fetcher.calls == 1  # the penalty box also protects a failing IdP
    clock.advance(10)
    with pytest.raises(JwksUnavailableError):
        cache.get_key(URI, "k1", "RS256")
    assert fetcher.calls == 2

    fetcher.fail = False
    clock.advance(10)
    assert cache.get_key(URI, "k1", "RS256").kid == "k1"


MALFORMED = [b"not json", b"[]", b"{}", b'{"keys": {}}', b"<html>502 Bad Gateway</html>", b"[" * 50_000]


@pytest.mark.parametrize("document", MALFORMED, ids=lambda d: d[:16].decode())
def test_malformed_jwks_on_refresh_keeps_previous_keys(make_cache, fetcher, clock, document):
    cache = make_cache(fetcher, refresh_after_seconds=60)
    cache.prefetch(URI)
    fetcher.document = document
    clock.advance(10)
    with pytest.raises(KidNotFoundError):
        cache.get_key(URI, "k2", "RS256")
    assert fetcher.calls == 2
    assert cache.get_key(URI, "k1", "RS256").kid == "k1"
    clock.advance(60)  # refresh due; the bad document again
    assert cache.get_key(URI, "k1", "RS256").kid == "k1"
    assert fetcher.calls == 3


@pytest.mark.parametrize("document", MALFORMED, ids=lambda d: d[:16].decode())
def test_malformed_jwks_at_cold_start_is_unavailable_not_a_crash(cache, fetcher, document):
    fetcher.document = document
    assert cache.prefetch(URI) is False
    with pytest.raises(JwksUnavailableError):
        cache.get_key(URI, "k1", "RS256")


def test_empty_key_set_replaces_keys_on_refresh(cache, fetcher, clock):
    cache.prefetch(URI)
    fetcher.document = b'{"keys": []}'  # well-formed: the IdP says "no keys", we believe it
    clock.advance(10)
    with pytest.raises(KidNotFoundError):
        cache.get_key(URI, "k2", "RS256")
    with pytest.raises(KidNotFoundError):
        cache.get_key(URI, "k1", "RS256")


class SlowFetcher(StaticFetcher):
    def fetch(self, uri: str) -> bytes:
        time.sleep(0.05)
        return super().fetch(uri)


def test_concurrent_cold_misses_cause_exactly_one_fetch(make_cache):
    fetcher = SlowFetcher(DOC_K1)
    cache = make_cache(fetcher)
    barrier = threading.Barrier(16)
    results: list[object] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait(timeout=5)
        try:
            outcome: object = cache.get_key(URI, "k1", "RS256")
        except Exception as exc:  # collected, asserted below
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)
    assert fetcher.calls == 1
    assert len(results) == 16
    assert all(isinstance(r, VerificationKey) and r.kid == "k1" for r in results), results
    assert len({id(r) for r in results}) == 1


def test_weak_kid_is_weak_key_error(make_cache, clock):
    fetcher = StaticFetcher(jwks_document(jwk_for(rsa_key(1024, name="weak"), "weak"), jwk_for(rsa_key(), "k1")))
    cache = make_cache(fetcher)
    cache.prefetch(URI)
    with pytest.raises(WeakKeyError):
        cache.get_key(URI, "weak", "RS256")
    clock.advance(10)
    with pytest.raises(WeakKeyError):
        cache.get_key(URI, "weak", "RS256")
    assert cache.get_key(URI, "k1", "RS256").kid == "k1"


@pytest.mark.parametrize(
    ("jwk", "alg"),
    [
        (jwk_for(rsa_key(), "kid"), "ES256"),
        (jwk_for(ec_key(), "kid"), "RS256"),
        (jwk_for(rsa_key(), "kid", alg="RS256"), "ES256"),
        (jwk_for(rsa_key(), "kid", alg="ES256"), "RS256"),
    ],
    ids=["rsa-as-es256", "ec-as-rs256", "rsa-rs256-as-es256", "rsa-declared-es256"],
)
def test_alg_mismatch_is_key_algorithm_mismatch_error(make_cache, jwk, alg):
    cache = make_cache(StaticFetcher(jwks_document(jwk)))
    cache.prefetch(URI)
    with pytest.raises(KeyAlgorithmMismatchError):
        cache.get_key(URI, "kid", alg)


def test_jwk_declared_for_a_foreign_alg_is_a_mismatch_not_an_unknown_kid(make_cache):
    cache = make_cache(StaticFetcher(jwks_document(jwk_for(rsa_key(), "kid", alg="RS384"))))
    cache.prefetch(URI)
    with pytest.raises(KeyAlgorithmMismatchError):
        cache.get_key(URI, "kid", "RS256")


def test_ec_key_fits_es256(make_cache):
    cache = make_cache(StaticFetcher(jwks_document(jwk_for(ec_key(), "ec"))))
    assert cache.get_key(URI, "ec", "ES256").kty == "EC"


def test_default_clock_cache_serves_keys():
    fetcher = StaticFetcher(DOC_K1)
    cache = JwksCache(fetcher=fetcher)  # real monotonic clock and default settings
    assert cache.prefetch(URI)
    assert cache.get_key(URI, "k1", "RS256").kid == "k1"
    with pytest.raises(KidNotFoundError):
        cache.get_key(URI, "k2", "RS256")
    assert fetcher.calls == 1

