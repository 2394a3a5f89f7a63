"""SnapStart (python3.12+): what must not be shared between environments restored from one snapshot.

A snapshot freezes the init phase: JWKS fetched then, SDK clients holding the credentials of
then, the ``random`` module's state. Every restored environment would share them. Hooks
registered here run after each restore: they re-seed ``random``, drop cached SDK clients (the
next call builds one with the restored environment's credentials), clear Powertools' parameter
cache (its SSM client and the registry text age from the snapshot), and make the JWKS due for a
refresh, fetching it at once. Lambda's ``snapshot_restore_py`` runs them; it exists only in the
SnapStart runtimes, so it is imported lazily and its absence is not an error (python3.11, local,
tests). :func:`run_after_restore_hooks` runs the same hooks by hand.
"""

from __future__ import annotations

import random
from collections.abc import Callable

_HOOKS: list[Callable[[], None]] = []


def register_after_restore(hook: Callable[[], None]) -> Callable[[], None]:
    """Run ``hook`` after every SnapStart restore (and from :func:`run_after_restore_hooks`)."""
    _HOOKS.append(hook)
    try:
        from snapshot_restore_py import (  # type: ignore[import-not-found]  # SnapStart runtimes only
            register_after_restore as lambda_register,
        )
    except ImportError:
        return hook
    lambda_register(hook)
    return hook


def run_after_restore_hooks() -> None:
    for hook in list(_HOOKS):
        hook()


def registered_hooks() -> list[Callable[[], None]]:
    return list(_HOOKS)


def reseed_random() -> None:
    """New state from os.urandom: restored environments must not replay one sequence."""
    random.seed()


def clear_parameter_cache() -> None:
    """Powertools' cached parameter values and default providers (each holds an SDK client)."""
    import sys

    parameters = sys.modules.get("aws_lambda_powertools.utilities.parameters")
    if parameters is None:  # never loaded: nothing cached
        return
    parameters.clear_caches()
    from aws_lambda_powertools.utilities.parameters import base

    providers: dict[str, object] = getattr(base, "DEFAULT_PROVIDERS")  # noqa: B009 - not re-exported
    providers.clear()


register_after_restore(reseed_random)
register_after_restore(clear_parameter_cache)
