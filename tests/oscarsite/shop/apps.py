from django.apps import AppConfig


class ShopConfig(AppConfig):
    """The shop's own app: no models, the commands that build and inspect it."""

    name = "oscarsite.shop"
    label = "oscarsite_shop"
