"""Commands the site projects with settings of their own (``wagtailsite``, ``oscarsite``)
share: an app without models, in both projects' ``INSTALLED_APPS``."""
