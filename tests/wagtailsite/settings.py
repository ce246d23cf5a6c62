"""Settings of a small Wagtail site, for the end-to-end tests of tests/test_wagtail.py.

A project of its own, kept apart from ``testsite``: Wagtail's hundreds of migrations
would slow every other test. It reaches the same database servers as ``testsite``
(``DEVDATA_TEST_POSTGRES``, ``DEVDATA_TEST_MARIADB``, ``DEVDATA_TEST_SQLITE_DIR``) with
databases of its own.
Which of them a process uses is ``WAGTAILSITE_DATABASES`` (below).
"""

# The same servers, run-unique names and temporary directory as the test site; importing
# it also lets PyMySQL stand in for mysqlclient.
import testsite.settings  # noqa: F401
from sitecommands.databases import media_root, site_databases

SECRET_KEY = "devdata tests only"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "wagtailsite.urls"

INSTALLED_APPS = [
    "wagtailsite.blog",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Wagtail's search index uses SearchVectorField on PostgreSQL, which from Django 6.0
    # needs this app.
    "django.contrib.postgres",
    "devdata_core",
    "sitecommands",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

#: Every database this site can use (see sitecommands.databases).
ALL_DATABASES, DATABASES = site_databases("wagtail")

STATIC_URL = "/static/"
MEDIA_ROOT = media_root("wagtail")
MEDIA_URL = "/media/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, for tests

WAGTAIL_SITE_NAME = "Devdata Times"
WAGTAILADMIN_BASE_URL = "http://www.example.com"
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAIL_I18N_ENABLED = True
LANGUAGE_CODE = "en"
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES = [("en", "English"), ("fr", "French"), ("de", "German")]

SILENCED_SYSTEM_CHECKS = ["models.W036"]  # MariaDB: no conditional unique constraints

DEVDATA_DEFAULT_STRATEGY = ("devdata_queryset.QuerySetStrategy", {"name": "all"})
# A full copy, credentials included: password hashes and sessions opted back in.
DEVDATA_PASSWORDS = "keep"
DEVDATA_STRATEGIES = {"sessions.Session": [("devdata_queryset.QuerySetStrategy", {"name": "all"})]}
# Wagtail's reference index keeps what refers to what as content type + id pairs, without
# a GenericForeignKey: a subset takes the entries whose both ends it exports.
DEVDATA_GENERIC_REFERENCES = {
    "wagtailcore.ReferenceIndex": [
        ("content_type", "object_id"),
        ("to_content_type", "to_object_id"),
    ],
}
