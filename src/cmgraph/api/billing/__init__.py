"""Billing: who renders a session's claim, the claim lines, and what an enrollment's lapse
would break."""
