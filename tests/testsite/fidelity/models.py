import uuid

import django
from django.db import models

#: ``CheckConstraint``'s argument: ``check`` before Django 5.1, ``condition`` since (6.0
#: knows only ``condition``).
CHECK_CONDITION = "condition" if django.VERSION >= (5, 1) else "check"


class Record(models.Model):
    """Every kind of value an export must carry across exactly."""

    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    happened_at = models.DateTimeField()
    day = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=6)
    payload = models.JSONField()
    token = models.UUIDField(default=uuid.uuid4)
    blob = models.BinaryField()
    duration = models.DurationField()
    ratio = models.FloatField()
    notes = models.TextField(null=True)
    follows = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, related_name="+")


class Special(Record):
    """Multi-table inheritance: a child row lives in two tables."""

    extra = models.CharField(max_length=20)


class SpecialProxy(Record):
    class Meta:
        proxy = True


class Owner(models.Model):
    """A UUID primary key, and a unique code that other rows reference with ``to_field``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    code = models.CharField(max_length=20, unique=True)


class Pet(models.Model):
    """A string primary key; references an owner by key and a vet by code."""

    name = models.CharField(max_length=50, primary_key=True)
    owner = models.ForeignKey(Owner, on_delete=models.CASCADE, related_name="pets")
    vet = models.ForeignKey(
        Owner, on_delete=models.SET_NULL, null=True, to_field="code", related_name="patients"
    )


class Visit(models.Model):
    pet = models.ForeignKey(Pet, on_delete=models.CASCADE)
    day = models.DateField()


class Reading(models.Model):
    """A 64-bit key, and a value only the database checks (a CHECK constraint)."""

    id = models.BigAutoField(primary_key=True)
    level = models.IntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                **{CHECK_CONDITION: models.Q(level__gte=0)}, name="fidelity_reading_level_gte_0"
            )
        ]


class Entry(models.Model):
    """Only values PostgreSQL's ``COPY`` writes as the Python path does, nullable where
    a field may be: its rows are written without Python."""

    flag = models.BooleanField(null=True)
    small = models.PositiveSmallIntegerField()
    big = models.BigIntegerField()
    amount = models.DecimalField(max_digits=14, decimal_places=6, null=True)
    whole = models.DecimalField(max_digits=30, decimal_places=0)
    at = models.DateTimeField(null=True)
    day = models.DateField(null=True)
    token = models.UUIDField(null=True)
    text = models.TextField()
    label = models.CharField(max_length=50, null=True)
    owner = models.ForeignKey(Owner, on_delete=models.CASCADE, related_name="+")
    vet = models.ForeignKey(
        Owner, on_delete=models.SET_NULL, null=True, to_field="code", related_name="+"
    )
    pet = models.ForeignKey(Pet, on_delete=models.SET_NULL, null=True, related_name="+")
