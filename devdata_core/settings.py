"""devdata's settings, read from Django settings and validated as they load.

Every problem is a :class:`~devdata_core.errors.ConfigError` that names the setting,
the model label and the entry, and says how to fix it.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any, get_args

from django.apps import apps
from django.conf import settings as django_settings
from django.db import models
from django.db.models import Model
from django.utils.module_loading import import_string

from . import plugins
from .anonymisation.credentials import (
    DEFAULT_DEV_PASSWORD,
    LOGIN_SECRET_MODELS,
    PASSWORD_MODES,
    Passwords,
)
from .anonymisation.keyed import anonymisation_key
from .anonymisers import Anonymiser
from .errors import ConfigError
from .extras import ExtraExport, ExtraImport
from .serialization import exported_fields
from .strategies import Exportable, MissingReferences, Strategy

#: Models whose rows the dev database's own migrations create, with other ids than in
#: production: references to them are exported as natural keys and matched on import,
#: and the default strategy does not export their rows.
NATURAL_KEY_MODELS = frozenset({"contenttypes.ContentType", "auth.Permission"})

#: The values that ``DEVDATA_MISSING_REFERENCES`` and ``missing_references`` take.
MISSING_REFERENCES: tuple[MissingReferences, ...] = get_args(MissingReferences)


def model_label(model: type[Model]) -> str:
    """``app_label.ModelName``, the key devdata uses for a model everywhere."""
    return f"{model._meta.app_label}.{model._meta.object_name}"


def candidate_models() -> list[type[Model]]:
    """Models that hold rows of their own: concrete, not proxies, auto-created M2M included."""
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if not model._meta.proxy and not model._meta.abstract
    ]


def is_managed_table(model: type[Model]) -> bool:
    return model._meta.managed and not model._meta.proxy


def resolve_model(label: str, where: str) -> type[Model]:
    """The model for ``label``, or a ConfigError that suggests the closest label."""
    try:
        app_label, model_name = label.split(".")
        return apps.get_model(app_label, model_name)
    except (ValueError, LookupError):
        pass
    labels = [model_label(m) for m in apps.get_models(include_auto_created=True)]
    close = difflib.get_close_matches(label, labels, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "use 'app_label.ModelName'"
    raise ConfigError(f"{where}: {label!r} is not an installed model; {hint}")


@dataclass(frozen=True)
class DevdataSettings:
    #: Strategies by model, for every model that is taken (including empty lists).
    strategies: dict[type[Model], list[Strategy]]
    #: Models that have ``DEVDATA_DEFAULT_STRATEGY`` because the settings do not name them.
    defaulted: frozenset[type[Model]]
    extra_strategies: list[ExtraExport | ExtraImport]
    field_anonymisers: dict[str, Anonymiser]
    model_anonymisers: dict[type[Model], dict[str, Anonymiser]]
    faker_locales: list[str] | None
    #: Models whose rows made by the dev database's migrations stay beside the export's.
    keep_migration_rows: frozenset[type[Model]] = frozenset()
    #: Content type + id pairs without a ``GenericForeignKey``, by model: the field names
    #: of the content type and of the object's id (``DEVDATA_GENERIC_REFERENCES``).
    generic_references: dict[type[Model], list[tuple[str, str]]] = dataclasses.field(
        default_factory=dict
    )
    missing_references: MissingReferences = "on_delete"
    #: The secret every deterministic fake is keyed with (``DEVDATA_ANONYMISATION_KEY``,
    #: else derived from ``SECRET_KEY``); never exported, only its :func:`key_id`.
    anonymisation_key: bytes = b""
    #: ``DEVDATA_PII_STRICT``: personal fields without an anonymiser, and leaks the audit
    #: finds, stop the export instead of warning.
    pii_strict: bool = False
    #: What becomes of password hashes (``DEVDATA_PASSWORDS``, ``DEVDATA_DEV_PASSWORD``,
    #: ``DEVDATA_PASSWORD_FIELDS``): see :mod:`.anonymisation.credentials`.
    passwords: Passwords = dataclasses.field(default_factory=Passwords)
    #: ``DEVDATA_AUDIT``: look for anonymised values elsewhere in every export (on by default).
    audit: bool = True
    #: ``DEVDATA_COPY_EXPORT``: on PostgreSQL, let ``COPY`` write the lines of models that
    #: need no Python per row (on by default; see :mod:`.copy_export`).
    copy_export: bool = True

    def credential_anonymisers_for(self, model: type[Model]) -> dict[str, Anonymiser]:
        """The replacements of the password hashes among a model's exported fields (its
        own: an inheriting model's parent holds the password); none under
        ``DEVDATA_PASSWORDS = "keep"``."""
        concrete = model._meta.concrete_model
        return self._credential_anonymisers(concrete, {f.name for f in exported_fields(concrete)})

    def _credential_anonymisers(self, model: type[Model], names: set[str]) -> dict[str, Anonymiser]:
        replacements = self.passwords.anonymisers_for(model, self.anonymisation_key)
        return {name: a for name, a in replacements.items() if name in names}

    def anonymisers_for(self, model: type[Model]) -> dict[str, Anonymiser]:
        """A model's anonymisers by field name, :func:`~.anonymisers.keep` included: the
        replacements of password hashes first, then those named by field, then those
        scoped to the model, which win."""
        concrete = model._meta.concrete_model
        names = {f.name for f in exported_fields(concrete)}
        chosen = self._credential_anonymisers(concrete, names)
        chosen.update((n, a) for n, a in self.field_anonymisers.items() if n in names)
        chosen.update(self.model_anonymisers.get(concrete, {}))
        return chosen


def load_settings() -> DevdataSettings:
    """Read and validate every ``DEVDATA_*`` setting (loading the plugins first)."""
    plugins.get_plugin_manager()
    strategies, defaulted = _load_strategies()
    loaded = DevdataSettings(
        strategies=strategies,
        defaulted=defaulted,
        extra_strategies=_load_extras(),
        field_anonymisers=_load_field_anonymisers(),
        model_anonymisers=_load_model_anonymisers(),
        faker_locales=_load_locales(),
        keep_migration_rows=_load_keep_migration_rows(),
        generic_references=_load_generic_references(),
        missing_references=_load_missing_references(),
        anonymisation_key=anonymisation_key(),
        pii_strict=_load_flag("DEVDATA_PII_STRICT"),
        passwords=_load_passwords(),
        audit=_load_flag("DEVDATA_AUDIT", default=True),
        copy_export=_load_flag("DEVDATA_COPY_EXPORT", default=True),
    )
    _check_referenced_fields_are_kept(loaded)
    return loaded


def _check_referenced_fields_are_kept(loaded: DevdataSettings) -> None:
    """An anonymised field that a foreign key references by ``to_field`` would break it."""
    for model in candidate_models():
        for field in model._meta.local_concrete_fields:
            if not (field.is_relation and (field.many_to_one or field.one_to_one)):
                continue
            target = field.target_field
            owner = target.model._meta.concrete_model
            if target.primary_key:
                continue
            if target.name in loaded.field_anonymisers:
                where = f"DEVDATA_FIELD_ANONYMISERS[{target.name!r}]"
            elif target.name in loaded.model_anonymisers.get(owner, {}):
                where = f"DEVDATA_MODEL_ANONYMISERS[{model_label(owner)!r}][{target.name!r}]"
            else:
                continue
            raise ConfigError(
                f"{where}: {model_label(model)}.{field.name} references "
                f"{model_label(owner)}.{target.name} (to_field), so anonymising it would break "
                "those references; anonymise another field, or leave this one as it is"
            )


def _instantiate(
    entry: Any,
    where: str,
    base: type | tuple[type, ...],
    registry: Callable[[], Mapping[str, type]],
) -> Any:
    """Turn a settings entry (an instance, or ``(class path or name, kwargs)``) into an object."""
    if isinstance(entry, base):
        return entry
    if not (
        isinstance(entry, (tuple, list))
        and len(entry) == 2
        and isinstance(entry[0], str)
        and isinstance(entry[1], Mapping)
    ):
        raise ConfigError(
            f"{where}: expected a strategy instance or a ('dotted.path.Class', {{kwargs}}) "
            f"pair, got {entry!r}"
        )
    path, kwargs = entry
    if "." in path:
        try:
            cls = import_string(path)
        except ImportError as exc:
            if path.startswith(_V1_PACKAGE):
                raise ConfigError(f"{where}: {_moved_from_1x(path, registry)}") from None
            raise ConfigError(f"{where}: cannot import {path!r}: {exc}") from exc
    else:
        known = registry()
        if path not in known:
            raise ConfigError(
                f"{where}: no plugin provides a class named {path!r}: is its plugin installed? "
                f"Installed: {', '.join(sorted(known)) or 'none'}"
            )
        cls = known[path]
    if not (isinstance(cls, type) and issubclass(cls, base)):
        if path.startswith(_V1_PACKAGE):  # django-devdata 1.x is still installed
            raise ConfigError(f"{where}: {_moved_from_1x(path, registry)}")
        raise ConfigError(f"{where}: {path!r} is not a subclass of {_names(base)}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {path}(**{dict(kwargs)!r}) failed: {exc}") from exc


#: The package of django-devdata 1.x, whose dotted paths settings may still name.
_V1_PACKAGE = "devdata."


def _moved_from_1x(path: str, registry: Callable[[], Mapping[str, type]]) -> str:
    """Where a class that django-devdata 1.x named ``path`` lives now: a class a plugin
    registers under its name, or the core's module of the same name."""
    name = path.rpartition(".")[2]
    cls = registry().get(name)
    if cls is not None:
        package = cls.__module__.partition(".")[0]
        exported = getattr(import_module(package), name, None) is cls
        new = f"{package if exported else cls.__module__}.{name}"
        return f"{path!r} is django-devdata 1.x's path: use {new!r}, or just {name!r}"
    new = "devdata_core." + path.removeprefix(_V1_PACKAGE)
    try:
        import_string(new)
    except ImportError:
        return (
            f"{path!r} is django-devdata 1.x's path, and no plugin provides a class named "
            f"{name!r}: is its plugin installed? See 'Moving from django-devdata 1.x' in the "
            "README"
        )
    return f"{path!r} is django-devdata 1.x's path: use {new!r}"


def _names(base: type | tuple[type, ...]) -> str:
    bases = base if isinstance(base, tuple) else (base,)
    return " or ".join(b.__name__ for b in bases)


def _check_initialised(obj: Any, where: str) -> None:
    if not getattr(obj, "_devdata_initialised", False):
        raise ConfigError(
            f"{where}: {type(obj).__name__} was not initialised: its __init__ must call "
            "super().__init__(*args, **kwargs)"
        )
    if isinstance(obj, (Exportable, ExtraExport)):
        name = getattr(obj, "name", None)
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name[0] in "._":
            raise ConfigError(
                f"{where}: {type(obj).__name__} needs a name=... that is a plain file name "
                f"(got {name!r}); if it is a subclass, its __init__ must pass **kwargs on to "
                "super().__init__"
            )


def _load_strategy(entry: Any, where: str) -> Strategy:
    strategy = _instantiate(entry, where, Strategy, plugins.strategy_classes)
    _check_initialised(strategy, where)
    for index, label in enumerate(strategy.depends_on):
        resolve_model(label, f"{where}.depends_on[{index}]")
    mode = getattr(strategy, "missing_references", None)
    if mode is not None:
        _check_missing_references(mode, f"{where}: missing_references")
    return strategy


def _check_missing_references(value: object, where: str) -> None:
    if value not in MISSING_REFERENCES:
        raise ConfigError(
            f"{where} must be {' or '.join(map(repr, MISSING_REFERENCES))}, got {value!r}"
        )


def _load_missing_references() -> MissingReferences:
    value = getattr(django_settings, "DEVDATA_MISSING_REFERENCES", MISSING_REFERENCES[0])
    _check_missing_references(value, "DEVDATA_MISSING_REFERENCES")
    return value


def _load_strategies() -> tuple[dict[type[Model], list[Strategy]], frozenset[type[Model]]]:
    configured = getattr(django_settings, "DEVDATA_STRATEGIES", None)
    default_entry = getattr(django_settings, "DEVDATA_DEFAULT_STRATEGY", None)
    if configured is None and default_entry is None:
        raise ConfigError(
            "DEVDATA_STRATEGIES is not set: map each 'app_label.ModelName' to a list of "
            "strategies, or set DEVDATA_DEFAULT_STRATEGY"
        )
    if not isinstance(configured or {}, Mapping):
        raise ConfigError(
            f"DEVDATA_STRATEGIES must be a dict of model label to list, got {configured!r}"
        )

    result: dict[type[Model], list[Strategy]] = {}
    for label, entries in (configured or {}).items():
        where = f"DEVDATA_STRATEGIES[{label!r}]"
        model = resolve_model(label, "DEVDATA_STRATEGIES")
        if not isinstance(entries, (list, tuple)):
            raise ConfigError(f"{where}: expected a list of strategies, got {entries!r}")
        if model._meta.proxy:
            if entries:
                raise ConfigError(
                    f"{where}: {label} is a proxy of {model_label(model._meta.concrete_model)}, "
                    "whose rows it shares; configure the concrete model instead (an empty list "
                    "is accepted and ignored)"
                )
            continue
        strategies = [_load_strategy(entry, f"{where}[{i}]") for i, entry in enumerate(entries)]
        names = [s.name for s in strategies if isinstance(s, Exportable)]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(
                f"{where}: strategy name {duplicates[0]!r} is used twice; names must be unique "
                "per model because each one names an export file"
            )
        result[model] = strategies

    default = None
    if default_entry is not None:
        default = _load_strategy(default_entry, "DEVDATA_DEFAULT_STRATEGY")
    missing = []
    defaulted = set()
    for model in candidate_models():
        if model in result or not is_managed_table(model):
            continue
        if default is None:
            missing.append(model_label(model))
        elif model_label(model) in NATURAL_KEY_MODELS | LOGIN_SECRET_MODELS:
            result[model] = []
        else:
            result[model] = [default]
            defaulted.add(model)
    if missing:
        raise ConfigError(
            f"DEVDATA_STRATEGIES has no entry for {len(missing)} model(s): {', '.join(missing)}; "
            "add them (an empty list skips a model) or set DEVDATA_DEFAULT_STRATEGY"
        )
    return result, frozenset(defaulted)


def _load_extras() -> list[ExtraExport | ExtraImport]:
    entries = getattr(django_settings, "DEVDATA_EXTRA_STRATEGIES", ())
    extras = []
    for index, entry in enumerate(entries):
        where = f"DEVDATA_EXTRA_STRATEGIES[{index}]"
        extra = _instantiate(
            entry, where, (ExtraExport, ExtraImport), plugins.extra_strategy_classes
        )
        _check_initialised(extra, where)
        extras.append(extra)
    return extras


def _load_anonymiser(entry: Any, where: str) -> Anonymiser:
    if callable(entry):
        return entry
    if (
        isinstance(entry, (tuple, list))
        and len(entry) == 2
        and isinstance(entry[0], str)
        and isinstance(entry[1], Mapping)
    ):
        name, kwargs = entry
        factories = plugins.anonymiser_factories()
        if name not in factories:
            raise ConfigError(
                f"{where}: no plugin provides an anonymiser named {name!r}: is its plugin "
                f"installed? Installed: {', '.join(sorted(factories)) or 'none'}"
            )
        try:
            return factories[name](**kwargs)
        except TypeError as exc:
            raise ConfigError(
                f"{where}: anonymiser {name!r}(**{dict(kwargs)!r}) failed: {exc}"
            ) from exc
    raise ConfigError(
        f"{where}: expected a callable anonymiser or a ('name', {{kwargs}}) pair, got {entry!r}"
    )


def _load_field_anonymisers() -> dict[str, Anonymiser]:
    configured = getattr(django_settings, "DEVDATA_FIELD_ANONYMISERS", {})
    return {
        field: _load_anonymiser(entry, f"DEVDATA_FIELD_ANONYMISERS[{field!r}]")
        for field, entry in configured.items()
    }


def _load_model_anonymisers() -> dict[type[Model], dict[str, Anonymiser]]:
    configured = getattr(django_settings, "DEVDATA_MODEL_ANONYMISERS", {})
    result: dict[type[Model], dict[str, Anonymiser]] = {}
    for label, fields in configured.items():
        model = resolve_model(label, "DEVDATA_MODEL_ANONYMISERS")
        concrete = model._meta.concrete_model
        result.setdefault(concrete, {})
        for field, entry in fields.items():
            where = f"DEVDATA_MODEL_ANONYMISERS[{label!r}][{field!r}]"
            names = {f.name for f in exported_fields(concrete)}
            if field not in names:
                raise ConfigError(
                    f"{where}: {label} has no exported field {field!r}; fields: "
                    f"{', '.join(sorted(names))}"
                )
            result[concrete][field] = _load_anonymiser(entry, where)
    return result


def _load_locales() -> list[str] | None:
    locales = getattr(django_settings, "DEVDATA_FAKER_LOCALES", None)
    if locales is None:
        return None
    if isinstance(locales, str):
        return [locales]
    if not isinstance(locales, Sequence) or not all(isinstance(x, str) for x in locales):
        raise ConfigError(f"DEVDATA_FAKER_LOCALES must be a list of locale names, got {locales!r}")
    return list(locales)


def _load_flag(name: str, default: bool = False) -> bool:
    value = getattr(django_settings, name, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False, got {value!r}")
    return value


def _load_passwords() -> Passwords:
    """``DEVDATA_PASSWORDS``, ``DEVDATA_DEV_PASSWORD`` and ``DEVDATA_PASSWORD_FIELDS``."""
    mode = getattr(django_settings, "DEVDATA_PASSWORDS", PASSWORD_MODES[0])
    if mode not in PASSWORD_MODES:
        raise ConfigError(
            f"DEVDATA_PASSWORDS must be {' or '.join(map(repr, PASSWORD_MODES))}, got {mode!r}"
        )
    password = getattr(django_settings, "DEVDATA_DEV_PASSWORD", DEFAULT_DEV_PASSWORD)
    if not isinstance(password, str) or not password:
        raise ConfigError(f"DEVDATA_DEV_PASSWORD must be a non-empty string, got {password!r}")
    name = "DEVDATA_PASSWORD_FIELDS"
    entries = getattr(django_settings, name, ())
    if isinstance(entries, str) or not isinstance(entries, Sequence):
        raise ConfigError(f"{name} must be a list of 'app_label.ModelName.field', got {entries!r}")
    fields = set()
    for index, entry in enumerate(entries):
        label, _, field = entry.rpartition(".") if isinstance(entry, str) else ("", "", "")
        if not label or not field:
            raise ConfigError(
                f"{name}[{index}]: expected 'app_label.ModelName.field', got {entry!r}"
            )
        model = resolve_model(label, f"{name}[{index}]")._meta.concrete_model
        fields.add((model._meta.label, _own_field(model, field, f"{name}[{index}]").name))
    return Passwords(mode=mode, dev_password=password, fields=frozenset(fields))


def _load_keep_migration_rows() -> frozenset[type[Model]]:
    """``DEVDATA_KEEP_MIGRATION_ROWS``: labels of models whose migration-made rows stay."""
    name = "DEVDATA_KEEP_MIGRATION_ROWS"
    labels = getattr(django_settings, name, ())
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise ConfigError(
            f"{name} must be a list of model labels ('app_label.ModelName'), got {labels!r}"
        )
    models = set()
    for index, label in enumerate(labels):
        if not isinstance(label, str):
            raise ConfigError(
                f"{name}[{index}]: expected a model label ('app_label.ModelName'), got {label!r}"
            )
        models.add(resolve_model(label, f"{name}[{index}]")._meta.concrete_model)
    return frozenset(models)


def _load_generic_references() -> dict[type[Model], list[tuple[str, str]]]:
    """``DEVDATA_GENERIC_REFERENCES``: ``{label: [(content type field, id field), ...]}``."""
    configured = getattr(django_settings, "DEVDATA_GENERIC_REFERENCES", {})
    name = "DEVDATA_GENERIC_REFERENCES"
    if not isinstance(configured, Mapping):
        raise ConfigError(
            f"{name} must be a dict of model label to a list of (content type field, id "
            f"field) pairs, got {configured!r}"
        )
    if configured and not apps.is_installed("django.contrib.contenttypes"):
        raise ConfigError(f"{name} needs django.contrib.contenttypes in INSTALLED_APPS")
    result: dict[type[Model], list[tuple[str, str]]] = {}
    for label, pairs in configured.items():
        model = resolve_model(label, name)
        where = f"{name}[{label!r}]"
        if not isinstance(pairs, (list, tuple)) or not all(
            isinstance(pair, (list, tuple))
            and len(pair) == 2
            and all(isinstance(n, str) for n in pair)
            for pair in pairs
        ):
            raise ConfigError(
                f"{where}: expected a list of (content type field, id field) pairs of field "
                f"names, e.g. [('content_type', 'object_id')], got {pairs!r}"
            )
        for ct_name, id_name in pairs:
            _check_content_type_field(model, _own_field(model, ct_name, where), where)
            id_field = _own_field(model, id_name, where)
            if id_field.is_relation:
                raise ConfigError(
                    f"{where}: {label}.{id_name} is a relation; the id field holds the "
                    "referenced object's primary key as a plain value"
                )
        result[model._meta.concrete_model] = [tuple(pair) for pair in pairs]
    return result


def _own_field(model: type[Model], name: str, where: str) -> models.Field:
    """A concrete field of ``model`` by name or attname, or a ConfigError naming close ones."""
    fields = {f.name: f for f in model._meta.concrete_fields}
    fields.update((f.attname, f) for f in model._meta.concrete_fields)
    if name in fields:
        return fields[name]
    close = difflib.get_close_matches(name, list(fields), n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"fields: {', '.join(sorted(fields))}"
    raise ConfigError(f"{where}: {model_label(model)} has no field {name!r}; {hint}")


def _check_content_type_field(model: type[Model], field: models.Field, where: str) -> None:
    """A content type field is a foreign key to ``ContentType`` or an integer column of its ids."""
    if field.is_relation:
        target = field.related_model
        if target is not None and model_label(target) == "contenttypes.ContentType":
            return
    elif isinstance(field, models.IntegerField):
        return
    raise ConfigError(
        f"{where}: {model_label(model)}.{field.name} is a {type(field).__name__}; the content "
        "type field must be a ForeignKey to ContentType or an integer field of content type ids"
    )
