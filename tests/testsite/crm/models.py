"""A small CRM: fields that look personal by type, by name or only by what they hold,
and a table of API tokens keyed by their secret."""

from django.contrib.auth.models import User
from django.db import models


class Contact(models.Model):
    #: Personal by type alone: "login" is no word of the dictionaries.
    login = models.EmailField(unique=True)
    #: Personal by name, in German.
    vorname = models.CharField(max_length=50, blank=True)
    #: Personal by name, and a date.
    date_of_birth = models.DateField(null=True)
    #: Personal only by what it holds, sometimes.
    notes = models.TextField(blank=True)
    #: Nothing personal: its choices are the shop's own words.
    status = models.CharField(
        max_length=10, choices=[("lead", "Lead"), ("client", "Client")], default="lead"
    )


class ApiToken(models.Model):
    """A login to production for whoever holds its key."""

    key = models.CharField(max_length=40, primary_key=True)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="tokens")


class Agent(User):
    """A user of the CRM's own staff: an inheriting model, whose password its parent row
    holds."""

    team = models.CharField(max_length=30, blank=True)
