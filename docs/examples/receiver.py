"""A webhook receiver for cmgraph in Python: verify the Standard Webhooks signature, dedupe on
webhook-id, answer 2xx at once (do the work after answering, or queue it).

    pip install standardwebhooks
    WEBHOOK_SECRET=whsec_... PORT=4000 python receiver.py
"""

import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

hook = Webhook(os.environ["WEBHOOK_SECRET"])
seen: set[str] = set()  # in production: a table with a unique key on webhook-id


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            event = hook.verify(body, dict(self.headers))  # signature and timestamp (5 min)
        except WebhookVerificationError:
            self.send_response(400)
            self.end_headers()
            return
        message_id = self.headers["webhook-id"]
        if message_id not in seen:  # at least once: the same message may come again
            seen.add(message_id)
            print(
                json.dumps({"id": message_id, "type": event["type"], "data": event["data"]}),
                flush=True,
            )
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # print only the events


if __name__ == "__main__":
    server = HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "4000"))), Receiver)
    print(f"listening on http://127.0.0.1:{server.server_port}/", flush=True)
    server.serve_forever()
