from django.apps import AppConfig
from django.core import checks


class DevdataCoreConfig(AppConfig):
    name = "devdata_core"
    verbose_name = "devdata"

    def ready(self) -> None:
        # Imported once apps are ready: the check reads models and devdata's settings.
        from .checks import check_personal_fields

        checks.register(check_personal_fields, "devdata")
