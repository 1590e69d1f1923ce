"""Providers (clinicians), their credentials and their enrollments with payors."""
