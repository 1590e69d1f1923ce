// Runs graphql-http's server audits against a running cmgraph and exits non-zero on any
// failure or warning. Usage: node audit.mjs <url> <bearer token>
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node audit.mjs <url> <token>');
  process.exit(2);
}

// Every audit request carries the token: cmgraph answers 401 to anything else.
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const results = await auditServer({ url, fetchFn });
const counts = { ok: 0, warn: 0, error: 0, notice: 0 };
for (const result of results) {
  counts[result.status] += 1;
  const line = `${result.status.toUpperCase().padEnd(6)} ${result.id} ${result.name}`;
  if (result.status === 'ok') {
    console.log(line);
  } else {
    console.log(`${line}\n       ${result.reason}`);
  }
}
console.log(
  `graphql-http audit: ${counts.ok} ok, ${counts.error} failures, ${counts.warn} warnings, ` +
    `${counts.notice} notices (MAY-level, allowed)`,
);
process.exit(counts.error || counts.warn ? 1 : 0);
