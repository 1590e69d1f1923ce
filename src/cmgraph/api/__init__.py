"""The GraphQL API: Strawberry types, resolvers and per-request DataLoaders.

One folder per domain (clients, providers, payors, service_lines, appointments,
case_managers, billing, compliance, admin), each with its types, inputs, queries and
mutations; api/schema.py merges their root classes. What every domain shares stays here:
context, ids, scalars, enums, node, errors, permissions, pagination, connection, parsing,
payloads, loaders.

Domain types refer to each other. Their modules import downwards only: service_lines,
payors -> providers -> admin -> appointments -> compliance -> case_managers -> clients ->
billing. A reference upwards (an assignment's client, a provider's caseload) names its type
with strawberry.lazy and imports its helper inside the resolver."""
