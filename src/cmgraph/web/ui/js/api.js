// The only way the UI talks to cmgraph: POST /graphql with documents kept as .graphql
// files. The token lives in this module's memory only (never localStorage, never the URL):
// reloading the page signs out, which is the price of not leaving a credential behind.

let token = null;
const documents = new Map();

export class AuthError extends Error {}

export function signIn(value) {
  token = value;
}

export function signOut() {
  token = null;
}

export function signedIn() {
  return token !== null;
}

async function load(name) {
  if (!documents.has(name)) {
    const response = await fetch(`/app/static/graphql/${name}.graphql`);
    if (!response.ok) throw new Error(`The UI is missing its ${name} document.`);
    documents.set(name, await response.text());
  }
  return documents.get(name);
}

// The data of one operation; GraphQL errors and HTTP failures are thrown in words.
export async function gql(name, variables = {}) {
  const query = await load(name);
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/graphql-response+json, application/json",
        Authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query, variables, operationName: name }),
    });
  } catch {
    throw new Error("cmgraph cannot be reached. Check your connection and try again.");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.status === 401) {
    throw new AuthError("This token or sign-in is not valid (or has expired).");
  }
  if (response.status === 403) {
    throw new Error("Your role may not do this.");
  }
  if (body && body.errors && body.errors.length) {
    throw new Error(body.errors.map((e) => e.message).join(" "));
  }
  if (!response.ok || !body) {
    throw new Error(`cmgraph answered ${response.status}. Try again in a moment.`);
  }
  return body.data;
}
