"""Peers of cmgraph, served beside it in the benchmark (bench/peers/compare.py runs them).

Each answers the caseload page and the one-client page (bench/queries.py CASELOAD and
CLIENT) with the very `data` cmgraph answers, from the same tables through cmgraph's own
``create_engine`` (same driver, pool and pragmas), on uvicorn with its access log off:

- floor_strict: by hand, no authentication, three statements a page, orjson: the ceiling
  every ratio is taken against;
- bench/floor.py: the same plus the token check any real endpoint does (four statements);
- strawberry_app: a default Strawberry app with per-request DataLoaders;
- graphql_core_app: graphql-core executing over rows prefetched in three statements.

The GraphQL peers check the bearer token as the floor does (common.TokenCheck), since
cmgraph must too.
"""
