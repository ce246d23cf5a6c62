"""The benchmark's schema and data: customers, tags, orders and order lines."""
