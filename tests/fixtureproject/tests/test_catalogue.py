"""The project's own tests, run against an export of production (tests/data/catalogue)."""

from decimal import Decimal

import pytest

from catalogue.models import Category, Product

pytestmark = pytest.mark.devdata_export("tests/data/catalogue")


def test_the_export_is_in_the_test_database():
    assert dict(Product.objects.values_list("sku", "price")) == {
        "TP-1": Decimal("24.00"),
        "CP-1": Decimal("6.50"),
        "CP-2": Decimal("9.00"),
    }
    assert set(Category.objects.get(title="Cups").products.values_list("pk", flat=True)) == {2, 7}


def test_a_test_changes_the_data():
    Product.objects.filter(category__title="Cups").delete()
    Category.objects.create(title="Saucers")
    assert list(Product.objects.values_list("sku", flat=True)) == ["TP-1"]


def test_the_next_test_sees_the_export_again():
    assert Product.objects.count() == 3
    assert not Category.objects.filter(title="Saucers").exists()


def test_new_rows_get_keys_past_the_exported_ones():
    product = Product.objects.create(
        category_id=1, sku="TP-2", title="Travel teapot", price=Decimal("18.00")
    )
    assert product.pk > 7
