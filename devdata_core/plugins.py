"""The plugin manager, built once and lazily, and a typed facade over its hooks.

Plugins load from the ``devdata`` entry-point group and from ``DEVDATA_PLUGINS``;
names in ``DEVDATA_DISABLE_PLUGINS`` are blocked before any entry point loads.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

import pluggy
from django.conf import settings
from django.core.signals import setting_changed

from . import hookspecs
from .errors import ConfigError, PluginError, describe

if TYPE_CHECKING:
    from django.db.models import Model

    from .anonymisation.detection import Detector
    from .extras import ExtraExport, ExtraImport
    from .references import DerivedReference
    from .reset_modes import Reset
    from .strategies import Strategy

ENTRY_POINT_GROUP = "devdata"

_plugin_manager: pluggy.PluginManager | None = None
#: Distribution name and version of each plugin loaded through an entry point.
_distributions: dict[str, tuple[str, str]] = {}


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, built on first use."""
    global _plugin_manager
    if _plugin_manager is None:
        _plugin_manager = _build_plugin_manager()
    return _plugin_manager


def reset_plugin_manager() -> None:
    """Forget the plugin manager, so the next use reloads plugins from settings."""
    global _plugin_manager
    _plugin_manager = None


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("DEVDATA_PLUGINS", "DEVDATA_DISABLE_PLUGINS"):
        reset_plugin_manager()


setting_changed.connect(_on_setting_changed)


def _build_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("devdata")
    pm.add_hookspecs(hookspecs)
    for name in _setting_list("DEVDATA_DISABLE_PLUGINS"):
        pm.set_blocked(name)
    _load_entry_points(pm)
    for index, path in enumerate(_setting_list("DEVDATA_PLUGINS")):
        if pm.is_blocked(path):
            continue
        try:
            module = import_module(path)
        except ImportError as exc:
            raise ConfigError(
                f"DEVDATA_PLUGINS[{index}]: cannot import {path!r} ({exc}); "
                "give the dotted path of a module with devdata hook implementations"
            ) from exc
        pm.register(module, name=path)
    return pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    """Register the plugins of the ``devdata`` entry-point group, naming any that fails."""
    _distributions.clear()
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.is_blocked(entry_point.name) or pm.has_plugin(entry_point.name):
            continue
        try:
            plugin = entry_point.load()
        except Exception as exc:
            raise PluginError(
                f"plugin {entry_point.name!r} ({entry_point.value}) failed to load: "
                f"{type(exc).__name__}: {exc}; reinstall it, or add {entry_point.name!r} to "
                "DEVDATA_DISABLE_PLUGINS"
            ) from exc
        pm.register(plugin, name=entry_point.name)
        if entry_point.dist is not None:
            _distributions[entry_point.name] = (
                entry_point.dist.metadata["Name"],
                entry_point.dist.version,
            )


def _setting_list(name: str) -> list[str]:
    value = getattr(settings, name, ())
    if isinstance(value, str) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{name} must be a list of strings, got {value!r}")
    return list(value)


def _culprit(caller: pluggy.HookCaller, exc: BaseException) -> str:
    """Name the plugin whose hook implementation raised ``exc``."""
    owners = {impl.function.__code__: impl.plugin_name for impl in caller.get_hookimpls()}
    tb = exc.__traceback__
    while tb is not None:
        owner = owners.get(tb.tb_frame.f_code)
        if owner is not None:
            return owner
        tb = tb.tb_next
    return "unknown"


def call_hook(name: str, **kwargs: Any) -> list[Any]:
    """Call hook ``name`` on every plugin; a plugin's exception becomes a :class:`PluginError`."""
    caller: pluggy.HookCaller = getattr(get_plugin_manager().hook, name)
    try:
        return caller(**kwargs)
    except Exception as exc:
        plugin = _culprit(caller, exc)
        raise PluginError(f"plugin {plugin!r} failed in hook {name}: {describe(exc)}") from exc


def _registered(hook: str, describe: Callable[[Any], str]) -> dict[str, Any]:
    """Merge the lists returned by a registration hook into one mapping by name."""
    found: dict[str, Any] = {}
    for answer in call_hook(hook):
        for item in answer or ():
            found[describe(item)] = item
    return found


def strategy_classes() -> dict[str, type[Strategy]]:
    """Strategy classes that plugins registered, by class name."""
    return _registered("devdata_strategy_classes", lambda cls: cls.__name__)


def extra_strategy_classes() -> dict[str, type[ExtraExport | ExtraImport]]:
    """Extra strategy classes that plugins registered, by class name."""
    return _registered("devdata_extra_strategy_classes", lambda cls: cls.__name__)


def anonymiser_factories() -> dict[str, Callable[..., Callable[..., Any]]]:
    """Anonymiser factories that plugins registered, by name."""
    factories: dict[str, Callable[..., Callable[..., Any]]] = {}
    for answer in call_hook("devdata_anonymisers"):
        factories.update(answer or {})
    return factories


def pii_detectors() -> list[Detector]:
    """Detectors of fields that look personal that plugins provide, the core's included."""
    return [detector for answer in call_hook("devdata_pii_detectors") for detector in answer or ()]


def reset_modes() -> dict[str, Reset]:
    """Reset modes that plugins registered, by slug."""
    modes: dict[str, Reset] = {}
    owners: dict[str, str] = {}
    pm = get_plugin_manager()
    for impl in reversed(pm.hook.devdata_reset_modes.get_hookimpls()):
        for mode in call_hook_impl(impl, "devdata_reset_modes"):
            if mode.slug in modes:
                raise PluginError(
                    f"reset mode {mode.slug!r} is provided by both {owners[mode.slug]!r} "
                    f"and {impl.plugin_name!r}: uninstall or disable one of them "
                    "(DEVDATA_DISABLE_PLUGINS)"
                )
            modes[mode.slug] = mode
            owners[mode.slug] = impl.plugin_name
    return modes


def derived_references(model: type[Model]) -> list[DerivedReference]:
    """The references of ``model`` that plugins declare (``devdata_references``), checked."""
    from .references import DerivedReference, check_reference

    found: list[DerivedReference] = []
    for impl in reversed(get_plugin_manager().hook.devdata_references.get_hookimpls()):
        try:
            answer = list(impl.function(model=model) or ())
        except Exception as exc:
            raise PluginError(
                f"plugin {impl.plugin_name!r} failed in hook devdata_references: {describe(exc)}"
            ) from exc
        for ref in answer:
            problem = (
                f"returned {ref!r}, not a DerivedReference"
                if not isinstance(ref, DerivedReference)
                else check_reference(ref, model)
            )
            if problem:
                raise PluginError(
                    f"plugin {impl.plugin_name!r}, hook devdata_references for "
                    f"{model._meta.label}: {problem}"
                )
            found.append(ref)
    return found


def call_hook_impl(impl: pluggy.HookImpl, hook: str) -> list[Any]:
    """Call one plugin's implementation of an argument-less registration hook."""
    try:
        return list(impl.function() or ())
    except Exception as exc:
        raise PluginError(
            f"plugin {impl.plugin_name!r} failed in hook {hook}: {describe(exc)}"
        ) from exc


#: The registration hooks: what each provides, and how an item it returns is named.
_PROVIDED: dict[str, tuple[str, Callable[[Any], str]]] = {
    "devdata_reset_modes": ("reset_modes", lambda mode: mode.slug),
    "devdata_strategy_classes": ("strategy_classes", lambda cls: cls.__name__),
    "devdata_extra_strategy_classes": ("extras", lambda cls: cls.__name__),
    "devdata_anonymisers": ("anonymisers", str),  # a dict: its keys
}


@dataclass(frozen=True)
class PluginInfo:
    """What ``devdata_plugins`` shows about one loaded plugin."""

    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]
    #: What its registration hooks return, by kind (``reset_modes``, ``strategy_classes``,
    #: ``extras``, ``anonymisers``): the names settings and ``--reset-mode`` use.
    provides: dict[str, tuple[str, ...]]


def plugin_infos() -> Iterator[PluginInfo]:
    """Every loaded plugin, in registration order."""
    pm = get_plugin_manager()
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            continue
        distribution, version = _distributions.get(name, (None, None))
        callers = pm.get_hookcallers(plugin) or []
        provides = {kind: () for kind, _ in _PROVIDED.values()}
        for caller in callers:
            if caller.name not in _PROVIDED:
                continue
            kind, describe = _PROVIDED[caller.name]
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin:
                    items = call_hook_impl(impl, caller.name)
                    provides[kind] = tuple(sorted(describe(item) for item in items))
        yield PluginInfo(
            name=name,
            distribution=distribution,
            version=version,
            hooks=tuple(sorted(caller.name for caller in callers)),
            provides=provides,
        )


def versions() -> dict[str, str]:
    """devdata-core's version and those of the loaded plugins' distributions, by name."""
    get_plugin_manager()
    found = {"devdata-core": importlib.metadata.version("devdata-core")}
    found.update(_distributions.values())
    return dict(sorted(found.items()))


def blocked_plugins() -> list[str]:
    """Names blocked through ``DEVDATA_DISABLE_PLUGINS``."""
    return [name for name, plugin in get_plugin_manager().list_name_plugin() if plugin is None]
