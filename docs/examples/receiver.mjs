// A webhook receiver for cmgraph in Node: verify the Standard Webhooks signature, dedupe on
// webhook-id, answer 2xx at once (do the work after answering, or queue it).
//
//   npm install standardwebhooks
//   WEBHOOK_SECRET=whsec_... PORT=4000 node receiver.mjs
import http from "node:http";
import { Webhook } from "standardwebhooks";

const hook = new Webhook(process.env.WEBHOOK_SECRET);
const seen = new Set(); // in production: a table with a unique key on webhook-id

const server = http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    let event;
    try {
      event = hook.verify(body, request.headers); // signature and timestamp (5 min)
    } catch {
      response.writeHead(400).end();
      return;
    }
    const id = request.headers["webhook-id"];
    if (!seen.has(id)) { // at least once: the same message may come again
      seen.add(id);
      console.log(JSON.stringify({ id, type: event.type, data: event.data }));
    }
    response.writeHead(204).end();
  });
});
server.listen(Number(process.env.PORT || 4000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/`);
});
