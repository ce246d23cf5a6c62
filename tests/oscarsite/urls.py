"""Oscar's URLs: its models' ``get_absolute_url`` and its signals reverse them."""

from django.apps import apps
from django.urls import include, path

urlpatterns = [path("", include(apps.get_app_config("oscar").urls[0]))]
