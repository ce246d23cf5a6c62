"""What ``benchmarks/run.py`` needs outside Django: databases, processes, tools, the report."""
