"""JWKS retrieval as small injectable pieces: fetcher, cache, penalty box."""

from __future__ import annotations

from tenantkit.jwks.cache import JwksCache
from tenantkit.jwks.fetcher import JwksFetcher, UrllibFetcher
from tenantkit.jwks.keys import KeySet, VerificationKey, parse_jwks
from tenantkit.jwks.penalty_box import PenaltyBox

__all__ = ["JwksCache", "JwksFetcher", "KeySet", "PenaltyBox", "UrllibFetcher", "VerificationKey", "parse_jwks"]
