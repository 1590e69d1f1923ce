"""Bulk import for integrations: importRecords, the GraphQL face of services.imports."""
