"""Root of the test suite: the test site's fixtures serve the plugins' tests too."""

pytest_plugins = ["sitefixtures"]

# A project of its own, whose tests tests/test_export_fixtures.py runs in a subprocess.
collect_ignore = ["tests/fixtureproject"]
