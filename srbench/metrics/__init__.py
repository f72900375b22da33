"""Metrics. Each module here that defines ``METRICS`` (a list of MetricInfo) is picked up by the registry.

Modules must not import torch or other heavy packages at import time; the metric's ``factory`` does.
"""
