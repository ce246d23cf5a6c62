from django.apps import AppConfig


class PollsConfig(AppConfig):
    name = "testsite.polls"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the check)
