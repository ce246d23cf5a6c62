from django.apps import AppConfig


class BlogConfig(AppConfig):
    name = "wagtailsite.blog"
    label = "blog"
