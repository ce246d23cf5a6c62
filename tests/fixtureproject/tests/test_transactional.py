"""Tests that commit (``transaction=True``, as ``live_server`` tests do): each one empties
the tables when it ends, and ``serialized_rollback`` brings the export back for the next."""

import pytest

from catalogue.models import Product

pytestmark = [
    pytest.mark.devdata_export("tests/data/catalogue"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_committing_test_sees_the_export():
    assert Product.objects.count() == 3
    Product.objects.filter(sku="TP-1").delete()


def test_the_next_committing_test_sees_it_whole_again():
    assert set(Product.objects.values_list("sku", flat=True)) == {"TP-1", "CP-1", "CP-2"}
