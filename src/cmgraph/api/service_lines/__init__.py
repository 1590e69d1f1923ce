"""Service lines (ABA, OT, ...): the organization's book of the lines it delivers."""
