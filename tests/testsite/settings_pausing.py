"""Settings whose export stops where ``DEVDATA_TEST_PAUSE`` says (see testsite.pausing)."""

from testsite.pausing import pause_mid_file
from testsite.settings import *  # noqa: F403

DEVDATA_PLUGINS = ["testsite.pausing"]
DEVDATA_MODEL_ANONYMISERS = {"polls.Choice": {"choice_text": pause_mid_file}}
