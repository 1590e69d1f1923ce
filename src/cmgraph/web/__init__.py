"""The HTTP surface: authentication, GraphQL over HTTP, request logs."""
