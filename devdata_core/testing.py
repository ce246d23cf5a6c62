"""A pytest plugin for devdata plugin authors (loaded automatically with devdata-core).

Fixtures:

``devdata_plugin``
    Registers a throwaway plugin for one test and unregisters it afterwards::

        def test_login_account_is_created(devdata_plugin):
            devdata_plugin(MyHooks())

Contract tests, to subclass in a plugin's own test suite with a fixture that
returns the object under test:

``ResetModeContract`` (fixture ``reset_mode``) and ``StrategyContract`` (fixture
``strategy``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def devdata_plugin() -> Iterator[Callable[..., Any]]:
    """Register plugins for the duration of one test."""
    from .plugins import get_plugin_manager

    pm = get_plugin_manager()
    registered: list[Any] = []

    def register(plugin: Any, name: str | None = None) -> Any:
        pm.register(plugin, name=name)
        registered.append(plugin)
        return plugin

    try:
        yield register
    finally:
        for plugin in registered:
            pm.unregister(plugin)


class ResetModeContract:
    """What every reset mode must satisfy. Provide a ``reset_mode`` fixture."""

    def test_is_a_reset_mode(self, reset_mode: Any) -> None:
        from .reset_modes import Reset

        assert isinstance(reset_mode, Reset)

    def test_slug_is_a_command_line_word(self, reset_mode: Any) -> None:
        slug = reset_mode.slug
        assert slug and slug == slug.strip().lower() and " " not in slug

    def test_describes_itself_for_the_confirmation(self, reset_mode: Any) -> None:
        assert reset_mode.description_for_confirmation.strip()

    def test_prepares_in_a_context_manager(self, reset_mode: Any) -> None:
        """The import calls ``prepared``, around building the schema and loading."""
        prepared = reset_mode.prepared("default")  # not entered: touches no database
        assert hasattr(prepared, "__enter__") and hasattr(prepared, "__exit__")

    def test_is_registered_through_a_plugin(self, reset_mode: Any) -> None:
        from .plugins import reset_modes

        assert type(reset_modes()[reset_mode.slug]) is type(reset_mode)


class StrategyContract:
    """What every strategy must satisfy. Provide a ``strategy`` fixture (an instance)."""

    def test_is_an_initialised_strategy(self, strategy: Any) -> None:
        from .strategies import Strategy

        assert isinstance(strategy, Strategy)
        assert getattr(strategy, "_devdata_initialised", False), "__init__ must call super()"

    def test_exportable_strategies_have_a_file_name(self, strategy: Any) -> None:
        from .strategies import Exportable

        if isinstance(strategy, Exportable):
            assert isinstance(strategy.name, str) and strategy.name
            assert strategy.data_file("dest", "app.Model").name == f"{strategy.name}.jsonl"

    def test_depends_on_names_models(self, strategy: Any) -> None:
        assert all(isinstance(label, str) and "." in label for label in strategy.depends_on)

    def test_class_is_registered_through_a_plugin(self, strategy: Any) -> None:
        from .plugins import strategy_classes

        assert strategy_classes().get(type(strategy).__name__) is type(strategy)
