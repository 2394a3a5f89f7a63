from __future__ import annotations

from support.tokens import authorizer_event, entra_claims, sign


def test_valid_v2_user_token_is_allowed_with_flat_envelope(authorizer):
    response = authorizer.handle(authorizer_event("Bearer " + sign(entra_claims())))
    statement = response["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/dev/*"
    assert response["context"]["tenant_id"] == "acme"
    assert response["context"]["app_id"] == "portal"
