"""Use cases, one transaction each. They speak facts and rows, never GraphQL."""
