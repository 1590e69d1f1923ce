"""Clients, and their coverages (which payor pays for them, when): a client's insurance is
read and changed from the client's page."""
