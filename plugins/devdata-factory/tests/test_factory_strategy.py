"""FactoryStrategy end to end: rows generated at import time, on every database."""

from __future__ import annotations

from typing import Any

import factory.random
import pytest
from django.db import connections, router
from django.db.models import Model
from factories import (
    ChoiceFactory,
    ChoiceOfAMissingQuestionFactory,
    ChoiceOfANewQuestionFactory,
    ChoiceOfQuestionTwoFactory,
    ExplodingChoiceFactory,
    SameTagFactory,
    WordyChoiceFactory,
)

from devdata_core.errors import ConfigError, StrategyError
from devdata_core.settings import load_settings
from devdata_core.testing import StrategyContract
from devdata_factory import FactoryStrategy, creating_in, existing
from devdata_queryset import QuerySetStrategy
from sitefixtures import FAILED_IMPORT_LEAVES, OLD_DEV_QUESTIONS, dev_questions
from sitetools import Site
from testsite.library.models import Tag
from testsite.polls.models import Choice, Question

pytestmark = pytest.mark.usefixtures("intact")

PRODUCTION_CHOICES = {1: "Yes", 2: "No"}


def production_polls(site: Site) -> None:
    """Questions 1 and 2, with one choice each (keys 1 and 2, where a sequence starts)."""
    for pk in (1, 2):
        question = Question.objects.using(site.src).create(
            pk=pk, question_text=f"Prod {pk}", pub_date=f"2024-01-0{pk}T12:00Z"
        )
        Choice.objects.using(site.src).create(
            pk=pk, question=question, choice_text=PRODUCTION_CHOICES[pk]
        )


def polls(*choice_strategies: Any) -> dict[str, list[Any]]:
    """Settings that export every question and give choices these strategies."""
    return {
        # Exported whole, as the exported rows the generated choices point at.
        "polls.Question": [QuerySetStrategy(name="all")],
        "polls.Choice": list(choice_strategies),
    }


def rows(site: Site, model: type[Model]) -> list[dict[str, Any]]:
    """Every row of ``model`` in the dev database, in key order."""
    return list(model._base_manager.using(site.dev).order_by("pk").values())


def test_a_factory_only_model_gets_rows_that_point_at_imported_ones(site):
    production_polls(site)
    site.configure(
        DEVDATA_STRATEGIES=polls(FactoryStrategy(name="generated", factories=[(ChoiceFactory, 5)]))
    )
    site.export()

    output = site.import_()

    assert site.exported("polls.Choice") == {}
    choices = rows(site, Choice)
    assert len(choices) == 5
    assert {c["question_id"] for c in choices} <= {1, 2}
    assert all(c["choice_text"].startswith("Generated ") for c in choices)
    assert "polls.Choice (generated): 5 rows in " in output.stderr


@pytest.mark.databases_only("sqlite")
def test_a_factory_only_model_leaves_the_models_it_references_whole(site):
    production_polls(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "polls.Choice": [FactoryStrategy(name="generated", factories=[ChoiceFactory])]
        }
    )

    site.export()

    assert site.exported_pks("polls.Question") == {1, 2}


def test_generated_rows_join_exported_ones_without_clashing_keys(site):
    production_polls(site)
    site.configure(
        DEVDATA_STRATEGIES=polls(
            QuerySetStrategy(name="all"),
            FactoryStrategy(name="generated", factories=[(ChoiceFactory, 3)]),
        )
    )

    site.roundtrip()

    # The exported rows keep their keys; the generated ones come after them, from the
    # sequence the core moved past the exported rows before the factories ran.
    by_key = {c["id"]: c["choice_text"] for c in rows(site, Choice)}
    assert {k: by_key[k] for k in (1, 2)} == PRODUCTION_CHOICES
    assert sorted(by_key) == [1, 2, 3, 4, 5]
    # And the sequences are right once the import is done: new rows can be created.
    made = Choice.objects.using(site.dev).create(question_id=1, choice_text="New in dev")
    assert made.pk == 6


def test_a_subfactory_creates_related_rows_in_the_dev_database(site):
    production_polls(site)
    elsewhere = Question.objects.using("default").count()
    site.configure(
        DEVDATA_STRATEGIES=polls(
            FactoryStrategy(name="generated", factories=[(ChoiceOfANewQuestionFactory, 3)])
        )
    )

    site.roundtrip()

    # Questions 1 and 2 were imported; the factory made 3 more, with keys after theirs
    # (on PostgreSQL, the questions' sequence had to be moved past the imported rows).
    assert site.pks(Question) == {1, 2, 3, 4, 5}
    assert {c["question_id"] for c in rows(site, Choice)} == {3, 4, 5}
    assert site.pks(Question, where="src") == {1, 2}
    if site.src != "default":
        assert Question.objects.using("default").count() == elsewhere
    assert Question.objects.using(site.dev).create(pub_date="2025-01-01T00:00Z").pk == 6


def test_existing_with_a_key_picks_that_row(site):
    production_polls(site)
    site.configure(
        DEVDATA_STRATEGIES=polls(
            FactoryStrategy(name="generated", factories=[(ChoiceOfQuestionTwoFactory, 3)])
        )
    )

    site.roundtrip()

    assert [c["question_id"] for c in rows(site, Choice)] == [2, 2, 2]


def test_a_seed_makes_the_same_rows_in_every_import(site):
    production_polls(site)

    def configure(seed: int) -> None:
        strategy = FactoryStrategy(
            name="generated",
            factories=[
                (WordyChoiceFactory, 10),
                (ChoiceFactory, 5),
                (ChoiceOfANewQuestionFactory, 2),
            ],
            seed=seed,
        )
        site.configure(DEVDATA_STRATEGIES=polls(QuerySetStrategy(name="all"), strategy))

    configure(seed=7)
    site.export()
    state = factory.random.randgen.getstate()

    site.import_()
    first = rows(site, Question), rows(site, Choice)
    site.import_()
    second = rows(site, Question), rows(site, Choice)
    configure(seed=8)
    site.import_()
    other_seed = rows(site, Question), rows(site, Choice)

    assert len(first[1]) == 2 + 17
    assert second == first
    assert other_seed != first
    # Seeding does not leak into what runs after the import.
    assert factory.random.randgen.getstate() == state


def test_dotted_paths_and_settings_pairs(site):
    production_polls(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "polls.Question": [("QuerySetStrategy", {"name": "all"})],
            "polls.Choice": [
                (
                    "FactoryStrategy",
                    {
                        "name": "generated",
                        "factories": ["factories.ChoiceFactory", ("factories.ChoiceFactory", 2)],
                        "seed": 1,
                    },
                )
            ],
        }
    )

    site.roundtrip()

    assert len(rows(site, Choice)) == 3


@pytest.mark.parametrize(
    ("factories", "problem"),
    [
        pytest.param(
            [ExplodingChoiceFactory],
            "ValueError: the vote counter is broken",
            id="raises",
        ),
        pytest.param(
            [ChoiceOfAMissingQuestionFactory],
            "existing('polls.Question', pk=404) has no row to pick: database '{dev}' holds "
            "no polls.Question with pk 404",
            id="missing-row",
        ),
    ],
)
def test_a_failing_factory_is_named_and_the_import_rolls_back(
    dev_with_old_rows, factories, problem
):
    site = dev_with_old_rows
    site.configure(
        DEVDATA_STRATEGIES=polls(
            QuerySetStrategy(name="all"), FactoryStrategy(name="generated", factories=factories)
        )
    )
    site.export()

    with pytest.raises(StrategyError) as error:
        site.import_(reset_mode="none")

    path = f"factories.{factories[0].__qualname__}"
    assert str(error.value) == (
        f"factory {path} of strategy 'generated' for polls.Choice failed: "
        f"{problem.format(dev=site.dev)}; nothing was imported"
    )
    connections[site.dev].close()
    assert dev_questions(site) == OLD_DEV_QUESTIONS
    assert site.pks(Choice) == {10, 20, 51}


def test_existing_without_rows_to_pick_says_what_to_do(site):
    production_polls(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "polls.Question": [],
            "polls.Choice": [FactoryStrategy(name="generated", factories=[ChoiceFactory])],
        }
    )
    site.export()

    with pytest.raises(StrategyError) as error:
        site.import_()

    assert str(error.value) == (
        "factory factories.ChoiceFactory of strategy 'generated' for polls.Choice failed: "
        f"existing('polls.Question') has no row to pick: database '{site.dev}' holds no "
        "polls.Question rows; give polls.Question a strategy that imports rows, or create them "
        f"with a SubFactory; {FAILED_IMPORT_LEAVES}"
    )


def test_a_database_error_in_a_factory_is_named_too(site):
    site.roundtrip()  # dev as an earlier import left it, without tags
    site.configure(
        DEVDATA_STRATEGIES={
            "library.Tag": [FactoryStrategy(name="generated", factories=[(SameTagFactory, 2)])]
        }
    )
    site.export()

    with pytest.raises(StrategyError) as error:
        site.import_()

    message = str(error.value)
    assert message.startswith(
        "factory factories.SameTagFactory of strategy 'generated' for library.Tag failed: "
    )
    assert message.endswith(f"; {FAILED_IMPORT_LEAVES}")
    assert "\n" not in message
    assert site.pks(Tag) == set()


@pytest.mark.databases_only("sqlite")
@pytest.mark.parametrize(
    ("path", "problem"),
    [
        (
            "factories.NoSuchFactory",
            "cannot import factory 'factories.NoSuchFactory' (ImportError: Module "
            '"factories" does not define a "NoSuchFactory" attribute/class); give the '
            "dotted path of a factory-boy DjangoModelFactory",
        ),
        (
            "no_such_module.ChoiceFactory",
            "cannot import factory 'no_such_module.ChoiceFactory' (ModuleNotFoundError: No "
            "module named 'no_such_module'); give the dotted path of a factory-boy "
            "DjangoModelFactory",
        ),
        (
            "factories.NOT_A_FACTORY",
            "'factories.NOT_A_FACTORY' is not a factory-boy DjangoModelFactory (it is 'a string')",
        ),
        (
            "factories.QuestionFactory",
            "factory 'factories.QuestionFactory' makes polls.Question rows, not polls.Choice; "
            "list it under 'polls.Question'",
        ),
    ],
)
def test_a_bad_factory_path_is_a_one_line_error_naming_model_strategy_and_path(site, path, problem):
    site.roundtrip()  # dev as an earlier import left it, without questions
    production_polls(site)
    site.configure(
        DEVDATA_STRATEGIES=polls(FactoryStrategy(name="generated", factories=[(path, 3)]))
    )
    site.export()

    with pytest.raises(ConfigError) as error:
        site.import_()

    assert str(error.value) == (
        f"DEVDATA_STRATEGIES['polls.Choice']: strategy 'generated': {problem}; "
        + FAILED_IMPORT_LEAVES
    )
    assert site.pks(Question) == set()


def test_creating_in_sends_factory_rows_to_a_database(site):
    """What a project's own hook (devdata_after_import) would use to run factories."""
    production_polls(site)
    site.configure(DEVDATA_STRATEGIES=polls(QuerySetStrategy(name="all")))
    site.roundtrip()

    with creating_in(site.dev):
        made = ChoiceOfANewQuestionFactory.create()
        picked = ChoiceFactory.create(question=existing(Question, pk=1))

    assert (made.question.pk, picked.question_id) == (3, 1)
    assert site.pks(Choice) == {1, 2, 3, 4}
    assert site.pks(Question, where="src") == {1, 2}
    connections[site.dev].close()


def test_creating_in_restores_factories_and_routers_even_for_factories_defined_meanwhile():
    routers = router.routers
    with creating_in("elsewhere"):

        class DefinedMeanwhile(ChoiceFactory):
            pass

        assert (ChoiceFactory._meta.database, DefinedMeanwhile._meta.database) == (
            "elsewhere",
            "elsewhere",
        )
        assert router.db_for_write(Choice) == "elsewhere"

    assert (ChoiceFactory._meta.database, DefinedMeanwhile._meta.database) == (
        "default",
        "default",
    )
    assert router.routers is routers


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"factories": [ChoiceFactory]}, "missing 1 required keyword-only argument: 'name'"),
        ({"name": "generated", "factories": "factories.ChoiceFactory"}, "must be a list"),
        ({"name": "generated", "factories": []}, "factories is empty"),
        ({"name": "generated", "factories": [42]}, "factories[0]: expected a factory-boy"),
        ({"name": "generated", "factories": ["ChoiceFactory"]}, "is not a dotted path"),
        (
            {"name": "generated", "factories": [ChoiceFactory, (ChoiceFactory, -1)]},
            "factories[1]: the count must be a number of rows, 0 or more, got -1",
        ),
        ({"name": "generated", "factories": [(ChoiceFactory, 1, 2)]}, "(factory, count) pair"),
        ({"name": "generated", "factories": [ChoiceFactory], "seed": "1"}, "seed must be"),
    ],
)
def test_malformed_strategies_are_settings_errors(settings, kwargs, problem):
    settings.DEVDATA_STRATEGIES = {"polls.Choice": [("FactoryStrategy", kwargs)]}

    with pytest.raises(ConfigError) as error:
        load_settings()

    message = str(error.value)
    assert message.startswith("DEVDATA_STRATEGIES['polls.Choice'][0]: FactoryStrategy(**")
    assert problem in message


class TestFactoryStrategyContract(StrategyContract):
    @pytest.fixture
    def strategy(self):
        return FactoryStrategy(name="generated", factories=[(ChoiceFactory, 2)], seed=3)
