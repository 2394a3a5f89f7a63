"""Release-plane tooling: promotion evidence, segmented Terraform state, the Terragrunt gate.

CI/CD tooling only. It reads GitLab CI variables and release metadata on purpose, which is
why it lives here and never in ``layers/`` or ``functions/``: runtime tenant authorization
must not depend on anything the release plane produces (tests/unit/test_ci_runtime_separation.py).
"""

from __future__ import annotations

from tenantkit.exceptions import TenantkitError


class ReleaseError(TenantkitError):
    """Bad input to a release command (missing CI variable, malformed JSON, invalid segment).

    Distinct from a failed verification: the CLI exits 2 for this, 1 for a failed check.
    """
