"""Settings whose export leaks: auth.User's names are anonymised, the copies that
leaks.Profile keeps of them are not, and DEVDATA_PII_STRICT is on."""

from devdata_core.anonymisers import const
from testsite.settings import *  # noqa: F403

DEVDATA_MODEL_ANONYMISERS = {
    "auth.User": {"first_name": const("Anon"), "last_name": const("Anon")},
}
DEVDATA_PII_STRICT = True
