"""The GraphQL API: Strawberry types, resolvers and per-request DataLoaders."""
