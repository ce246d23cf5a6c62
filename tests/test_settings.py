"""Settings are validated as they load: each mistake is one line naming model, entry and fix."""

from __future__ import annotations

import sys

import pytest

from devdata_core.anonymisers import const
from devdata_core.errors import ConfigError
from devdata_core.settings import load_settings
from devdata_core.strategies import Strategy
from devdata_queryset import QuerySetStrategy


class ForgetfulStrategy(QuerySetStrategy):
    def __init__(self, name):  # forgets super().__init__
        self.name = name


class NamelessStrategy(QuerySetStrategy):
    def __init__(self, **kwargs):
        super().__init__(name=None, **kwargs)


def error_for(settings, **overrides) -> str:
    for name, value in overrides.items():
        setattr(settings, name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "devdata_queryset.QuerySetStrategy",
            "DEVDATA_STRATEGIES['auth.User'][0]: expected a strategy instance or a "
            "('dotted.path.Class', {kwargs}) pair, got 'devdata_queryset.QuerySetStrategy'",
        ),
        (
            ("devdata_queryset.QuerySetStrategy", {}),
            "DEVDATA_STRATEGIES['auth.User'][0]: devdata_queryset.QuerySetStrategy(**{}) failed: "
            "Exportable.__init__() missing 1 required keyword-only argument: 'name'",
        ),
        (
            ("devdata_queryset.NoSuchStrategy", {"name": "x"}),
            "DEVDATA_STRATEGIES['auth.User'][0]: cannot import 'devdata_queryset.NoSuchStrategy': "
            'Module "devdata_queryset" does not define a "NoSuchStrategy" attribute/class',
        ),
        (
            ("collections.OrderedDict", {"name": "x"}),
            "DEVDATA_STRATEGIES['auth.User'][0]: 'collections.OrderedDict' is not a subclass of "
            "Strategy",
        ),
        (
            ForgetfulStrategy(name="lazy"),
            "DEVDATA_STRATEGIES['auth.User'][0]: ForgetfulStrategy was not initialised: its "
            "__init__ must call super().__init__(*args, **kwargs)",
        ),
        (
            NamelessStrategy(),
            "DEVDATA_STRATEGIES['auth.User'][0]: NamelessStrategy needs a name=... that is a plain "
            "file name (got None); if it is a subclass, its __init__ must pass **kwargs on to "
            "super().__init__",
        ),
        (
            QuerySetStrategy(name="../escape"),
            "DEVDATA_STRATEGIES['auth.User'][0]: QuerySetStrategy needs a name=... that is a plain "
            "file name (got '../escape'); if it is a subclass, its __init__ must pass **kwargs on "
            "to super().__init__",
        ),
    ],
)
def test_a_malformed_strategy_is_named_with_its_model(settings, entry, expected):
    assert error_for(settings, DEVDATA_STRATEGIES={"auth.User": [entry]}) == expected


def test_strategy_names_are_unique_per_model(settings):
    message = error_for(
        settings,
        DEVDATA_STRATEGIES={"auth.User": [QuerySetStrategy(name="a"), QuerySetStrategy(name="a")]},
    )
    assert message == (
        "DEVDATA_STRATEGIES['auth.User']: strategy name 'a' is used twice; names must be unique "
        "per model because each one names an export file"
    )


def test_an_unknown_model_label_suggests_the_closest(settings):
    message = error_for(settings, DEVDATA_STRATEGIES={"auth.Usr": []})
    assert (
        message
        == "DEVDATA_STRATEGIES: 'auth.Usr' is not an installed model; did you mean 'auth.User'?"
    )


def test_models_without_a_strategy_are_listed_when_no_default_is_set(settings):
    message = error_for(
        settings, DEVDATA_DEFAULT_STRATEGY=None, DEVDATA_STRATEGIES={"auth.User": []}
    )
    assert message.startswith("DEVDATA_STRATEGIES has no entry for ")
    assert "auth.Group, " in message
    assert "auth.User_groups" in message  # auto-created M2M tables need one too
    assert "photofeed.PhotoCount" not in message  # unmanaged: skipped unless named
    assert "fidelity.SpecialProxy" not in message  # a proxy has no rows of its own
    assert message.endswith(
        "add them (an empty list skips a model) or set DEVDATA_DEFAULT_STRATEGY"
    )


def test_a_proxy_model_shares_its_concrete_model(settings):
    message = error_for(
        settings, DEVDATA_STRATEGIES={"fidelity.SpecialProxy": [QuerySetStrategy(name="all")]}
    )
    assert message.startswith(
        "DEVDATA_STRATEGIES['fidelity.SpecialProxy']: fidelity.SpecialProxy is a proxy of "
        "fidelity.Record, whose rows it shares"
    )
    settings.DEVDATA_STRATEGIES = {"fidelity.SpecialProxy": []}
    load_settings()


def test_depends_on_must_name_models(settings):
    class Dependent(QuerySetStrategy):
        depends_on = ("polls.Questoin",)

    message = error_for(settings, DEVDATA_STRATEGIES={"polls.Choice": [Dependent(name="x")]})
    assert message == (
        "DEVDATA_STRATEGIES['polls.Choice'][0].depends_on[0]: 'polls.Questoin' is not an "
        "installed model; did you mean 'polls.Question'?"
    )


def test_strategies_by_registered_class_name_and_default(settings):
    settings.DEVDATA_STRATEGIES = {
        "auth.User": [("RandomSampleQuerySetStrategy", {"name": "some", "count": 3})],
        "polls.Choice": [],
    }
    settings.DEVDATA_DEFAULT_STRATEGY = QuerySetStrategy(name="everything")

    loaded = load_settings()

    by_label = {model._meta.label: strategies for model, strategies in loaded.strategies.items()}
    assert [(type(s).__name__, s.name, s.count) for s in by_label["auth.User"]] == [
        ("RandomSampleQuerySetStrategy", "some", 3)
    ]
    assert by_label["polls.Choice"] == []
    assert by_label["polls.Question"] == [settings.DEVDATA_DEFAULT_STRATEGY]
    assert by_label["auth.User_groups"] == [settings.DEVDATA_DEFAULT_STRATEGY]
    assert "photofeed.PhotoCount" not in by_label


def test_an_unregistered_class_name_lists_the_registered_ones(settings):
    message = error_for(settings, DEVDATA_STRATEGIES={"auth.User": [("Nope", {"name": "x"})]})
    assert message.startswith(
        "DEVDATA_STRATEGIES['auth.User'][0]: no plugin provides a class named 'Nope': is its "
        "plugin installed? Installed: DeleteFirstQuerySetStrategy, ExactQuerySetStrategy, "
    )


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        (
            "DEVDATA_MODEL_ANONYMISERS",
            {"auth.User": {"frist_name": const("x")}},
            "DEVDATA_MODEL_ANONYMISERS['auth.User']['frist_name']: auth.User has no exported "
            "field 'frist_name'; fields: ",
        ),
        (
            "DEVDATA_MODEL_ANONYMISERS",
            {"auth.Usr": {}},
            "DEVDATA_MODEL_ANONYMISERS: 'auth.Usr' is not an installed model; did you mean",
        ),
        (
            "DEVDATA_FIELD_ANONYMISERS",
            {"email": ("scramble", {})},
            "DEVDATA_FIELD_ANONYMISERS['email']: no plugin provides an anonymiser named "
            "'scramble': is its plugin installed? "
            "Installed: const, faker, keep, random_foreign_key",
        ),
        (
            "DEVDATA_FIELD_ANONYMISERS",
            {"email": ("faker", {"unique": True})},
            "DEVDATA_FIELD_ANONYMISERS['email']: anonymiser 'faker'(**{'unique': True}) failed: "
            "faker_anonymise() missing 1 required positional argument: 'generator'",
        ),
        (
            "DEVDATA_FIELD_ANONYMISERS",
            {"email": "fake it"},
            "DEVDATA_FIELD_ANONYMISERS['email']: expected a callable anonymiser or a "
            "('name', {kwargs}) pair, got 'fake it'",
        ),
        (
            "DEVDATA_FAKER_LOCALES",
            [1],
            "DEVDATA_FAKER_LOCALES must be a list of locale names, got [1]",
        ),
        (
            "DEVDATA_EXTRA_STRATEGIES",
            [("devdata_core.extras.ExtraExport", {})],
            "DEVDATA_EXTRA_STRATEGIES[0]: devdata_core.extras.ExtraExport(**{}) failed: ",
        ),
        (
            "DEVDATA_PLUGINS",
            ["testsite.no_such_hooks"],
            "DEVDATA_PLUGINS[0]: cannot import 'testsite.no_such_hooks' (No module named "
            "'testsite.no_such_hooks'); give the dotted path of a module with devdata hook "
            "implementations",
        ),
    ],
)
def test_other_settings_are_checked(settings, setting, value, expected):
    assert error_for(settings, **{setting: value}).startswith(expected)


def test_anonymisers_by_registered_name(settings):
    settings.DEVDATA_FIELD_ANONYMISERS = {"email": ("const", {"value": "x@example.com"})}
    anonymiser = load_settings().field_anonymisers["email"]
    assert (
        anonymiser(obj=None, field="email", pii_value="a@b.c", fake=None, dest=None)
        == "x@example.com"
    )


@pytest.mark.databases_only("sqlite")
def test_a_settings_mistake_reaches_the_user_as_one_line(site):
    result = site.cli(
        "devdata_export", str(site.export_dir), "--settings", "testsite.settings_broken"
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "ConfigError: DEVDATA_STRATEGIES: 'blog.Post' is not an installed model; use "
        "'app_label.ModelName'"
    )
    assert not site.export_dir.exists()


def test_strategy_base_class_is_importable_for_custom_strategies():
    assert Strategy().depends_on == ()


def test_a_field_referenced_by_to_field_cannot_be_anonymised(settings):
    message = error_for(
        settings, DEVDATA_MODEL_ANONYMISERS={"fidelity.Owner": {"code": const("X")}}
    )
    assert message == (
        "DEVDATA_MODEL_ANONYMISERS['fidelity.Owner']['code']: fidelity.Pet.vet references "
        "fidelity.Owner.code (to_field), so anonymising it would break those references; "
        "anonymise another field, or leave this one as it is"
    )


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        (
            "DEVDATA_STRATEGIES",
            {"auth.User": [("devdata.strategies.QuerySetStrategy", {"name": "all"})]},
            "DEVDATA_STRATEGIES['auth.User'][0]: 'devdata.strategies.QuerySetStrategy' is "
            "django-devdata 1.x's path: use 'devdata_queryset.QuerySetStrategy', or just "
            "'QuerySetStrategy'",
        ),
        (
            "DEVDATA_STRATEGIES",
            {"auth.User": [("devdata.strategies.FactoryStrategy", {"name": "made"})]},
            "DEVDATA_STRATEGIES['auth.User'][0]: 'devdata.strategies.FactoryStrategy' is "
            "django-devdata 1.x's path: use 'devdata_factory.FactoryStrategy', or just "
            "'FactoryStrategy'",
        ),
        (
            "DEVDATA_EXTRA_STRATEGIES",
            [("devdata.extras.PostgresSequences", {})],
            "DEVDATA_EXTRA_STRATEGIES[0]: 'devdata.extras.PostgresSequences' is django-devdata "
            "1.x's path: use 'devdata_postgres.PostgresSequences', or just 'PostgresSequences'",
        ),
        (
            "DEVDATA_EXTRA_STRATEGIES",
            [("devdata.extras.ExtraExport", {})],
            "DEVDATA_EXTRA_STRATEGIES[0]: 'devdata.extras.ExtraExport' is django-devdata 1.x's "
            "path: use 'devdata_core.extras.ExtraExport'",
        ),
        (
            "DEVDATA_STRATEGIES",
            {"auth.User": [("devdata.strategies.InternalUsersStrategy", {"name": "staff"})]},
            "DEVDATA_STRATEGIES['auth.User'][0]: 'devdata.strategies.InternalUsersStrategy' is "
            "django-devdata 1.x's path, and no plugin provides a class named "
            "'InternalUsersStrategy': is its plugin installed? See 'Moving from django-devdata "
            "1.x' in the README",
        ),
    ],
)
def test_a_django_devdata_1x_path_names_the_new_one(settings, setting, value, expected):
    assert error_for(settings, **{setting: value}) == expected


@pytest.fixture
def django_devdata_1x(tmp_path, monkeypatch):
    """django-devdata 1.x's ``devdata`` package, still installed beside devdata."""
    package = tmp_path / "devdata"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "strategies.py").write_text("class QuerySetStrategy:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("devdata", "devdata.strategies"):
        sys.modules.pop(name, None)


def test_a_1x_path_names_the_new_one_while_1x_is_still_installed(settings, django_devdata_1x):
    message = error_for(
        settings,
        DEVDATA_STRATEGIES={"auth.User": [("devdata.strategies.QuerySetStrategy", {"name": "a"})]},
    )

    assert message == (
        "DEVDATA_STRATEGIES['auth.User'][0]: 'devdata.strategies.QuerySetStrategy' is "
        "django-devdata 1.x's path: use 'devdata_queryset.QuerySetStrategy', or just "
        "'QuerySetStrategy'"
    )
