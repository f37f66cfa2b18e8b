"""The Python client against a real agent (started by test/clients/python.test.ts, which sets
TALLY_URL and TALLY_TOKEN). Keys are made through the agent's API with the admin token."""
import asyncio
import json
import os
import socket
import threading
import unittest
import urllib.request

from tally_client import AsyncUsageTracker, TallyError, UsageTracker, new_ulid

URL = os.environ.get("TALLY_URL", "")
TOKEN = os.environ.get("TALLY_TOKEN", "")


def admin_call(name, args):
    req = urllib.request.Request(
        URL + "/api/call/" + name,
        data=json.dumps(args).encode(),
        headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as res:
        reply = json.loads(res.read())
    assert reply["ok"], reply
    return reply["data"]


def new_key(customer, scope, rate=None):
    args = {"customer": customer, "scope": scope}
    if rate is not None:
        args["rate"] = rate
    return admin_call("keys.create", args)["key"]


class DropFirstAnswerProxy:
    """Forwards HTTP to the agent; on the first connection it forwards the request, reads the
    agent's answer, and drops the connection instead of passing the answer on."""

    def __init__(self, target_url):
        host, port = target_url.split("//", 1)[1].split(":")
        self.target = (host, int(port))
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.url = "http://127.0.0.1:%d" % self.server.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._pipe, args=(client, self.connections == 1), daemon=True).start()

    @staticmethod
    def _read_request(sock):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        while len(body) < length:
            body += sock.recv(65536)
        return head + b"\r\n\r\n" + body

    def _pipe(self, client, drop):
        request = self._read_request(client)
        # The agent checks the Host header: present ourselves as the agent's own address.
        lines = request.split(b"\r\n")
        lines = [b"Host: %s:%d" % (self.target[0].encode(), self.target[1]) if l.lower().startswith(b"host:") else l for l in lines]
        lines = [b"Connection: close" if l.lower().startswith(b"connection:") else l for l in lines]
        upstream = socket.create_connection(self.target)
        upstream.sendall(b"\r\n".join(lines))
        answer = b""
        while True:
            chunk = upstream.recv(65536)
            if not chunk:
                break
            answer += chunk
        upstream.close()
        if not drop:
            client.sendall(answer)
        client.close()

    def close(self):
        self.server.close()


class TrackerTest(unittest.TestCase):
    def test_track_llm_document_api_and_read_back(self):
        key = new_key("py-tenant", "ingest")
        reader = UsageTracker(api_key=new_key("py-tenant", "read"), base_url=URL)
        with UsageTracker(api_key=key, base_url=URL, tenant_id="py-tenant") as t:
            llm_ids = t.track_llm(user_id="user-123", model="gpt-4", input_tokens=100, output_tokens=50, metadata={"temperature": 0.7})
            t.track_document(user_id="user-123", document_type="invoice", pages_processed=5, service_provider="document_ai")
            t.track_api(endpoint="/users", method="get", status=200, duration_ms=12.5, user_id="user-9")
            t.track("api", 2, metadata={"endpoint": "/bulk", "method": "POST"})
        usage = reader.get_usage(limit=100)
        self.assertEqual(usage["total_count"], 5)
        by_service = sorted((e["service"], e["quantity"]) for e in usage["events"])
        self.assertEqual(by_service, [("api", 1), ("api", 2), ("document", 5), ("llm_input", 100), ("llm_output", 50)])
        self.assertEqual(reader.get_event(llm_ids[0])["metadata"]["model"], "gpt-4")
        self.assertEqual(reader.get_usage(service_type="llm_input")["total_count"], 1)

    def test_batch_sends_once_at_the_end_and_ids_are_assigned_before(self):
        t = UsageTracker(api_key=new_key("py-batch", "ingest"), base_url=URL, batch_size=10)
        reader = UsageTracker(api_key=TOKEN, base_url=URL, tenant_id="py-batch")
        with t.batch():
            ids = [t.track_api(endpoint="/b/%d" % i, method="GET")[0] for i in range(25)]
            self.assertEqual(len(set(ids)), 25)
        self.assertEqual(reader.get_usage()["total_count"], 25)

    def test_a_retry_after_a_dropped_connection_is_stored_once(self):
        proxy = DropFirstAnswerProxy(URL)
        try:
            t = UsageTracker(api_key=TOKEN, base_url=proxy.url, tenant_id="py-dropped", backoff_base=0.01)
            [event_id] = t.track_api(endpoint="/dropped", method="POST")
            self.assertGreaterEqual(t.retried, 1)
            self.assertGreaterEqual(proxy.connections, 2)
        finally:
            proxy.close()
        reader = UsageTracker(api_key=TOKEN, base_url=URL, tenant_id="py-dropped")
        usage = reader.get_usage()
        self.assertEqual(usage["total_count"], 1)
        self.assertEqual(usage["events"][0]["id"], event_id)

    def test_over_the_rate_it_waits_for_retry_after_and_stores_each_once(self):
        t = UsageTracker(api_key=new_key("py-rate", "ingest", rate=60), base_url=URL, backoff_base=0.01)
        for i in range(62):
            t.track_api(endpoint="/r/%d" % i, method="GET")
        self.assertGreaterEqual(t.retried, 1)
        reader = UsageTracker(api_key=TOKEN, base_url=URL, tenant_id="py-rate")
        self.assertEqual(reader.get_usage()["total_count"], 62)

    def test_refusals_are_raised_naming_the_field_and_not_retried(self):
        t = UsageTracker(api_key=new_key("py-refused", "ingest"), base_url=URL)
        with self.assertRaises(TallyError) as caught:
            t.track_api(endpoint="/x", method="GET", tenant_id="someone-else")
        self.assertEqual((caught.exception.status, caught.exception.field), (403, "events[0].customerId"))
        with self.assertRaises(TallyError) as bad:
            t.track("api", -1, metadata={"endpoint": "/x", "method": "GET"})
        self.assertEqual(bad.exception.status, 400)
        self.assertIn("quantity", bad.exception.field)
        self.assertEqual(t.retried, 0)

    def test_asyncio_wrapper(self):
        async def run():
            async with AsyncUsageTracker(api_key=TOKEN, base_url=URL, tenant_id="py-async") as t:
                await t.track_llm(user_id="u", model="gpt-3.5", input_tokens=10, output_tokens=5)
                return await t.get_usage()

        self.assertEqual(asyncio.run(run())["total_count"], 2)

    def test_ulids_are_26_crockford_characters_and_sort_by_time(self):
        a, b = new_ulid(1_000), new_ulid(2_000)
        self.assertEqual(len(a), 26)
        self.assertLess(a, b)


if __name__ == "__main__":
    unittest.main()
