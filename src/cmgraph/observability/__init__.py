"""Metrics (Prometheus) and traces (OpenTelemetry): both off by default, and then costing a
request one check of a module flag per place that would record something."""
