"""Every hook is declared with care, documented in docs/hooks.md, and exercised by a test."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from devdata_core import hookspecs

ROOT = Path(__file__).parent.parent
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("devdata_"))
DOCS = (ROOT / "docs" / "hooks.md").read_text()
TEST_SOURCES = {
    path: path.read_text()
    for path in [*ROOT.glob("tests/**/*.py"), *ROOT.glob("plugins/*/tests/**/*.py")]
    if path.name != Path(__file__).name
}
IMPLEMENTATIONS = [
    path.read_text() for path in [*ROOT.glob("devdata_core/*.py"), *ROOT.glob("plugins/*/*/*.py")]
]


def test_hooks_are_found():
    assert len(HOOKS) == 14


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_declared_with_types_and_a_docstring(hook):
    spec = getattr(hookspecs, hook)
    assert spec.devdata_spec == {
        "firstresult": False,
        "historic": False,
        "warn_on_impl": None,
        "warn_on_impl_args": None,
    }
    assert inspect.getdoc(spec).startswith(("Return", "Called"))
    signature = inspect.signature(spec)
    assert signature.return_annotation is not inspect.Signature.empty
    assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values())


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_in_the_reference(hook):
    assert f"`{hook}(" in DOCS


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_implemented_or_exercised_by_a_test(hook):
    used_in_tests = any(f"def {hook}(" in source for source in TEST_SOURCES.values())
    implemented = any(f"def {hook}(" in source for source in IMPLEMENTATIONS)
    assert used_in_tests or implemented, f"nothing implements {hook}"
    assert used_in_tests or hook in "".join(TEST_SOURCES.values()), f"no test exercises {hook}"
