from testsite.settings import *  # noqa: F403

DEVDATA_PLUGINS = ["testsite.pausing_hooks"]
