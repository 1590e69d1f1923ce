"""Compliance: the rules that are loaded and the findings they raise."""
