"""Payors (insurers and other funders) and the plugins whose rules apply to them."""
