"""Pytest plugin: record every AWS API operation each Lambda function's code performs.

Every botocore client created during the run gets a ``before-call`` handler (registered first,
so a Stubber or moto answering later still counts the call). The handler walks the calling
thread's stack and attributes the call:

1. to the function whose handler file (``functions/<dir>/*.py``, matched through the template's
   ``CodeUri``) is on the stack: the local runner, API Gateway emulator and replays;
2. otherwise to the owner of the OUTERMOST layer module on the stack
   (``tenantkit_local.least_privilege.MODULE_OWNERS``): tests that drive the layer directly;
3. otherwise to nobody: test setup and local tooling (seeding moto, the CLI) are not functions.
   Local tooling (``tenantkit_local``) met before any owned layer module also means nobody: an
   operator tool that drives a function's module (``tenantkit audit redrive`` runs the sink) and
   makes its own calls in between (reading back what is stored) is not the function.

A call from a ``tenantkit`` module no owner covers is an error: a new AWS-calling module must be
assigned to its function.

Assumed roles: every ``sts:AssumeRole`` response maps its access key id to the RoleArn asked for
(stashed in the request context before the parameters are built, read back after the call, so a
Stubber or moto answer counts too). A later call whose client signs with one of those keys is
recorded under ``<function>/<role>`` (the template role the ARN names, by
``least_privilege.role_of_arn``) and checked against that role's policy, not the function's own.
An ARN that names no template role is recorded under ``<function>/unknown role <name>``, which
the check reports. At the end of the session:

* any recorded action the function's deployed role does not grant fails the run (always);
* on a complete run (every test of ``testpaths``, nothing deselected, nothing failed) the
  recorded operations must equal ``docs/least-privilege-observed.json``, or the run fails asking
  for ``make least-privilege``; with ``TENANTKIT_LEAST_PRIVILEGE=write`` it rewrites that file and
  ``docs/least-privilege.md`` instead.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from tenantkit_local import PROJECT_ROOT

_FUNCTIONS_DIR = PROJECT_ROOT / "functions"
_lock = threading.Lock()
_observed: dict[str, dict[str, str]] = {}
_unowned: dict[str, str] = {}
_deselected = 0
_handler_dirs: dict[str, str] = {}
_template_roles: list[str] = []
_assumed_keys: dict[str, str] = {}  # access key id from an AssumeRole response -> the RoleArn asked for
_original_create_client: Any = None
_ROLE_ARN_KEY = "tenantkit_least_privilege_role_arn"
_PARAMETERS_KEY = "tenantkit_least_privilege_parameters"


def handler_functions() -> dict[str, str]:
    """``functions/<dir>`` -> logical id, from the template's CodeUri."""
    from tenantkit_local.template import load_template

    result = {}
    for logical_id, resource in load_template(PROJECT_ROOT / "template.yaml")["Resources"].items():
        code_uri = resource.get("Properties", {}).get("CodeUri")
        if resource["Type"] == "AWS::Serverless::Function" and isinstance(code_uri, str):
            result[str((PROJECT_ROOT / code_uri).resolve())] = logical_id
    return result


def attribute(frame: FrameType | None, handler_dirs: dict[str, str]) -> tuple[str | None, str | None]:
    """(function, unowned layer module) for the stack starting at ``frame`` (innermost first)."""
    from tenantkit_local.least_privilege import owner_of_module

    owner = unowned = None
    while frame is not None:
        directory = str(Path(frame.f_code.co_filename).resolve().parent)
        if directory in handler_dirs:
            return handler_dirs[directory], None
        module = str(frame.f_globals.get("__name__", ""))
        if owner is None and (module == "tenantkit_local" or module.startswith("tenantkit_local.")):
            return None, unowned
        if module == "tenantkit" or module.startswith("tenantkit."):
            listed, found = owner_of_module(module)
            if found is not None:
                owner, unowned = found, None  # keep walking: the outermost owner wins
            elif not listed and owner is None:
                unowned = module
        frame = frame.f_back
    return owner, unowned


def _signing_key(request_signer: Any) -> str | None:
    # botocore keeps the client's credentials on its signer only (no public accessor).
    credentials = getattr(request_signer, "_credentials", None)
    key = getattr(credentials, "access_key", None)
    return key if isinstance(key, str) else None


def principal(function: str, role_arn: str | None) -> str:
    """The ledger key of a call: the function, or ``<function>/<role>`` under assumed credentials."""
    from tenantkit_local.least_privilege import role_of_arn

    if role_arn is None:
        return function
    role = role_of_arn(role_arn, _template_roles)
    return f"{function}/{role}" if role else f"{function}/unknown role {role_arn.rsplit('/', 1)[-1]}"


def _stash_parameters(model: Any = None, params: Any = None, context: Any = None, **_: Any) -> None:
    # The API parameters are only seen here (before-call gets the serialized request): which were
    # given decides some actions, and AssumeRole's RoleArn names the role its keys belong to.
    if not isinstance(params, dict) or not isinstance(context, dict):
        return
    context[_PARAMETERS_KEY] = tuple(params)
    if getattr(model, "name", None) == "AssumeRole":
        context[_ROLE_ARN_KEY] = params.get("RoleArn")


def _remember_assumed_key(model: Any = None, parsed: Any = None, context: Any = None, **_: Any) -> None:
    if getattr(model, "name", None) != "AssumeRole" or not isinstance(context, dict):
        return
    role_arn = context.get(_ROLE_ARN_KEY)
    key = (parsed or {}).get("Credentials", {}).get("AccessKeyId") if isinstance(parsed, dict) else None
    if isinstance(role_arn, str) and isinstance(key, str):
        with _lock:
            _assumed_keys[key] = role_arn


def _before_call(model: Any = None, request_signer: Any = None, context: Any = None, **_: Any) -> None:
    from tenantkit_local.least_privilege import iam_actions

    if model is None:
        return
    function, unowned = attribute(sys._getframe(1), _handler_dirs)
    if function is not None:
        with _lock:
            role_arn = _assumed_keys.get(_signing_key(request_signer) or "")
        function = principal(function, role_arn)
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" (", 1)[0]
    service = model.service_model
    signing_name = service.signing_name or service.endpoint_prefix
    with _lock:
        if unowned is not None and function is None:
            _unowned.setdefault(f"{unowned} -> {signing_name}:{model.name}", test)
        if function is not None:
            parameters = context.get(_PARAMETERS_KEY, ()) if isinstance(context, dict) else ()
            for action in iam_actions(signing_name, model.name, parameters):
                _observed.setdefault(function, {}).setdefault(action, test)


def _create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
    client = _original_create_client(self, *args, **kwargs)
    client.meta.events.register_first("before-call.*.*", _before_call)
    client.meta.events.register("before-parameter-build.*.*", _stash_parameters)
    if client.meta.service_model.service_name == "sts":
        client.meta.events.register("after-call.sts.AssumeRole", _remember_assumed_key)
    return client


def pytest_configure(config: pytest.Config) -> None:
    global _original_create_client
    import botocore.session

    from tenantkit_local.least_privilege import TEMPLATE, template_roles
    from tenantkit_local.template import load_template

    _handler_dirs.update(handler_functions())
    _template_roles[:] = template_roles(load_template(TEMPLATE))
    if _original_create_client is None:
        _original_create_client = botocore.session.Session.create_client
        botocore.session.Session.create_client = _create_client  # type: ignore[method-assign]


def pytest_unconfigure(config: pytest.Config) -> None:
    global _original_create_client
    import botocore.session

    if _original_create_client is not None:
        botocore.session.Session.create_client = _original_create_client  # type: ignore[method-assign]
        _original_create_client = None


def pytest_deselected(items: list[pytest.Item]) -> None:
    global _deselected
    _deselected += len(items)


def _complete_run(session: pytest.Session) -> bool:
    """Every test of testpaths ran (failures allowed: a ledger test fails until it is rewritten)."""
    config = session.config
    return (config.args_source == pytest.Config.ArgsSource.TESTPATHS and not config.option.keyword
            and not config.option.markexpr and _deselected == 0 and not config.option.maxfail
            and not session.shouldstop and session.testscollected > 0)


def _actions(observed: dict[str, dict[str, str]]) -> dict[str, set[str]]:
    return {function: set(actions) for function, actions in observed.items() if actions}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from tenantkit_local import least_privilege as lp

    grants = lp.ledger_grants(lp.expand_template())
    reasons = lp.load_reasons()
    messages = [f"{module_call} (first in {test}): layer module with no owner in MODULE_OWNERS"
                for module_call, test in sorted(_unowned.items())]
    for function, actions in sorted(_observed.items()):
        for action, test in sorted(actions.items()):
            if function not in grants:
                messages.append(f"{function} performed {action} (first in {test}); the function may "
                                "assume no such template role")
            elif not grants[function].grants(action):
                messages.append(f"{function} performed {action} (first in {test}); its role does not grant it")
    mode = os.environ.get("TENANTKIT_LEAST_PRIVILEGE", "")
    # write-subset: development only (a few files that call AWS); the committed ledger comes
    # from a complete run (make least-privilege).
    if _complete_run(session) or mode == "write-subset":
        if mode.startswith("write"):
            lp.write_observed(_observed)
            lp.LEDGER.write_text(lp.render(_observed, grants, reasons))
            print(f"\nleast privilege: wrote {lp.OBSERVED.relative_to(PROJECT_ROOT)} and "
                  f"{lp.LEDGER.relative_to(PROJECT_ROOT)}")
            messages += lp.problems(_observed, grants, reasons)
        elif session.testsfailed == 0 and _actions(_observed) != _actions(lp.load_observed()):
            # Actions only: which test performs an action first depends on the test order.
            messages.append("the AWS calls recorded in this run differ from docs/least-privilege-observed.json: "
                            "run `make least-privilege` and review the diff")
    if messages:
        print("\nleast privilege: FAILED\n  " + "\n  ".join(messages))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
