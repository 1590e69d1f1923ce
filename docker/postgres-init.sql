-- Run by the postgres image when it creates its data volume (docker-entrypoint-initdb.d).
-- The service's own login role: it owns nothing; `cmgraph db grant cmgraph_service` (the
-- compose file's migrate step, run as the owner) gives it what the service uses.
CREATE ROLE cmgraph_service LOGIN PASSWORD 'cmgraph_service';
