// GraphiQL, started from the vendored assets: no CDN, no inline script (the page's CSP
// forbids it). The token comes in the URL fragment (never sent to the server), as the
// demo prints it, and is dropped from the address bar at once.
(function () {
  "use strict";
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const token = fragment.get("token");
  if (token) {
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  const headers = JSON.stringify(
    { Authorization: "Bearer " + (token || "<the token ./scripts/demo printed>") },
    null,
    2,
  );
  const examples = JSON.parse(document.getElementById("cmgraph-examples").textContent);
  const tabs = examples.map(function (example) {
    return { query: example.query, variables: example.variables, headers: headers };
  });

  // In memory only: tabs, headers (the token) and answers (client data) never outlive the page.
  const kept = new Map();
  const storage = {
    getItem: function (key) { return kept.has(key) ? kept.get(key) : null; },
    setItem: function (key, value) { kept.set(key, String(value)); },
    removeItem: function (key) { kept.delete(key); },
    clear: function () { kept.clear(); },
    get length() { return kept.size; },
  };

  const fetcher = GraphiQL.createFetcher({ url: "/graphql" });
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultTabs: tabs,
      defaultHeaders: headers,
      storage: storage,
      shouldPersistHeaders: false,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: "headers",
    }),
  );
})();
