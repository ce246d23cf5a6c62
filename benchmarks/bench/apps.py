"""App configuration for the benchmark's models."""

from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The benchmark's models."""

    name = "bench"
    verbose_name = "Benchmark"
