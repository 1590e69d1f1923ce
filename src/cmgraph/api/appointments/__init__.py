"""Appointments: the sessions scheduled and delivered, each for a client, a service line and
a provider."""
