"""People's contact details, in columns with limits: the anonymised values must fit them.

A subscriber's email is also on the newsletter sign-ups, denormalised, so the same
address anonymises to the same fake in both.
"""

from django.db import models


class Contact(models.Model):
    name = models.CharField(max_length=12)
    email = models.EmailField(max_length=30, unique=True)
    phone = models.CharField(max_length=20, null=True, blank=True)
    last_ip = models.GenericIPAddressField(null=True)
    office_ip = models.GenericIPAddressField(protocol="IPv4", null=True)
    born = models.DateField(null=True)
    balance = models.DecimalField(max_digits=5, decimal_places=2, default=0)


class Signup(models.Model):
    email = models.EmailField()
    list_name = models.CharField(max_length=20)
