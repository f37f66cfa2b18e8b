"""The Tally client: record usage per tenant and user, read it back.

Every record gets a ULID before its first send, so a retry after a lost answer (a dropped
connection, a timeout) is stored once: the agent ignores an id it already holds. 429, 502, 503,
504 and network errors are retried with exponential backoff and full jitter, never sooner than
the agent's Retry-After; any other error is raised at once as TallyError naming the field.
"""
import asyncio
import datetime as _dt
import json
import os
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RETRY_STATUS = {429, 502, 503, 504}


def new_ulid(now_ms: Optional[int] = None) -> str:
    """A ULID: 48 bits of milliseconds then 80 random bits, Crockford base32 (26 characters)."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))


class TallyError(Exception):
    """An error answered by the agent (or no answer at all): code, message and the field at fault."""

    def __init__(self, code: str, message: str, field: Optional[str] = None, status: Optional[int] = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status


def _iso(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return str(value)


class UsageTracker:
    """Records usage through a Tally agent.

    api_key: an ingest key for the tenant (``tally keys create --scope ingest``), a read key for
    get_usage, or the agent's admin token. tenant_id: the customer records are stored under
    (with an ingest key it may be left out: the key's customer is used).
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = "http://127.0.0.1:7878",
        tenant_id: Optional[str] = None,
        batch_size: int = 100,
        retries: int = 5,
        timeout: float = 10.0,
        backoff_base: float = 0.1,
        backoff_max: float = 10.0,
    ):
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.tenant_id = tenant_id
        self.batch_size = batch_size
        self.retries = retries
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retried = 0  # attempts repeated after a retryable failure (for tests and logs)
        self._queue: List[Dict[str, Any]] = []
        self._batching = 0
        self._lock = threading.Lock()

    # -- context manager ------------------------------------------------------------------
    def __enter__(self) -> "UsageTracker":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.flush()

    def close(self) -> None:
        self.flush()

    # -- recording ------------------------------------------------------------------------
    def track(
        self,
        service: str,
        quantity: float,
        user_id: Optional[str] = None,
        metadata: Optional[Dict[str, Any]] = None,
        tenant_id: Optional[str] = None,
        recorded_at: Any = None,
        id: Optional[str] = None,
    ) -> List[str]:
        """Records one usage event of any service; returns its id. Queued inside batch()."""
        record: Dict[str, Any] = {
            "id": id or new_ulid(),
            "service": service,
            "quantity": quantity,
            "recordedAt": _iso(recorded_at) or _iso(_dt.datetime.now(_dt.timezone.utc)),
            "metadata": dict(metadata or {}),
        }
        customer = tenant_id or self.tenant_id
        if customer is not None:
            record["customerId"] = customer
        if user_id is not None:
            record["userId"] = user_id
        return self._submit([record])

    def track_llm(
        self,
        user_id: Optional[str],
        model: str,
        input_tokens: int,
        output_tokens: int,
        service_provider: str = "openai",
        metadata: Optional[Dict[str, Any]] = None,
        tenant_id: Optional[str] = None,
    ) -> List[str]:
        """An LLM call: input and output tokens, priced per model and provider."""
        meta = dict(metadata or {}, model=model, provider=service_provider)
        records = []
        for service, tokens in (("llm_input", input_tokens), ("llm_output", output_tokens)):
            records.append(self._record(service, tokens, user_id, meta, tenant_id))
        return self._submit(records)

    def track_document(
        self,
        user_id: Optional[str],
        document_type: str,
        pages_processed: int,
        service_provider: Optional[str] = None,
        processing_type: Optional[str] = None,
        metadata: Optional[Dict[str, Any]] = None,
        tenant_id: Optional[str] = None,
    ) -> List[str]:
        """Document pages processed, per document type."""
        meta = dict(metadata or {}, document_type=document_type)
        if service_provider is not None:
            meta["provider"] = service_provider
        if processing_type is not None:
            meta["processing_type"] = processing_type
        return self._submit([self._record("document", pages_processed, user_id, meta, tenant_id)])

    def track_api(
        self,
        endpoint: str,
        method: str,
        status: int = 200,
        duration_ms: Optional[float] = None,
        user_id: Optional[str] = None,
        metadata: Optional[Dict[str, Any]] = None,
        tenant_id: Optional[str] = None,
    ) -> List[str]:
        """One API request: endpoint, method, status and (for latency analytics) its duration."""
        meta = dict(metadata or {}, endpoint=endpoint, method=method.upper(), status=status)
        if duration_ms is not None:
            meta["duration_ms"] = duration_ms
        return self._submit([self._record("api", 1, user_id, meta, tenant_id)])

    def _record(self, service: str, quantity: float, user_id: Optional[str], meta: Dict[str, Any], tenant_id: Optional[str]) -> Dict[str, Any]:
        record: Dict[str, Any] = {
            "id": new_ulid(),
            "service": service,
            "quantity": quantity,
            "recordedAt": _iso(_dt.datetime.now(_dt.timezone.utc)),
            "metadata": meta,
        }
        customer = tenant_id or self.tenant_id
        if customer is not None:
            record["customerId"] = customer
        if user_id is not None:
            record["userId"] = user_id
        return record

    @contextmanager
    def batch(self) -> Iterator["UsageTracker"]:
        """Queues every track_* inside the block and sends them in batches when it ends."""
        with self._lock:
            self._batching += 1
        try:
            yield self
        finally:
            with self._lock:
                self._batching -= 1
                done = self._batching == 0
            if done:
                self.flush()

    def flush(self) -> None:
        """Sends what is queued (in batches of batch_size); raises the first refusal."""
        while True:
            with self._lock:
                chunk, self._queue = self._queue[: self.batch_size], self._queue[self.batch_size :]
            if not chunk:
                return
            self._send(chunk)

    def _submit(self, records: List[Dict[str, Any]]) -> List[str]:
        ids = [r["id"] for r in records]
        with self._lock:
            if self._batching > 0:
                self._queue.extend(records)
                full = len(self._queue) >= self.batch_size
            else:
                full = None
        if full is None:
            self._send(records)
        elif full:
            self.flush()
        return ids

    def _send(self, records: List[Dict[str, Any]]) -> Dict[str, Any]:
        return self._request("POST", "/v1/events", records)

    # -- reading --------------------------------------------------------------------------
    def get_usage(
        self,
        start_date: Any = None,
        end_date: Any = None,
        service_type: Optional[str] = None,
        user_id: Optional[str] = None,
        tenant_id: Optional[str] = None,
        limit: int = 100,
        cursor: Optional[str] = None,
    ) -> Dict[str, Any]:
        """The event log, newest first: {"events": [...], "total_count": n, "next_cursor": ...}."""
        query = {
            "customer": tenant_id or self.tenant_id,
            "service": service_type,
            "user": user_id,
            "from": _iso(start_date),
            "to": _iso(end_date),
            "limit": limit,
            "cursor": cursor,
        }
        qs = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        return self._request("GET", "/v1/events" + ("?" + qs if qs else ""))

    def get_event(self, event_id: str) -> Dict[str, Any]:
        return self._request("GET", "/v1/events/" + urllib.parse.quote(event_id, safe=""))

    # -- HTTP -----------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        attempt = 0
        while True:
            try:
                return self._once(method, path, data)
            except TallyError as err:
                retry_after = getattr(err, "retry_after", None)
                retryable = err.status in _RETRY_STATUS or err.status is None
                if not retryable or attempt >= self.retries:
                    raise
                ceiling = min(self.backoff_max, self.backoff_base * (2**attempt))
                wait = random.uniform(0, ceiling)  # full jitter
                if retry_after is not None:
                    wait = max(wait, retry_after)
                attempt += 1
                self.retried += 1
                time.sleep(wait)

    def _once(self, method: str, path: str, data: Optional[bytes]) -> Any:
        headers = {"Authorization": "Bearer " + self.api_key, "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                text = res.read().decode("utf-8")
                return json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            raise self._error_from(e) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise TallyError("unavailable", "cannot reach the agent at %s: %s" % (self.base_url, reason)) from None

    @staticmethod
    def _error_from(e: urllib.error.HTTPError) -> TallyError:
        try:
            payload = json.loads(e.read().decode("utf-8") or "{}")
        except (ValueError, OSError):
            payload = {}
        error = payload.get("error") if isinstance(payload, dict) else None
        error = error if isinstance(error, dict) else {}
        err = TallyError(
            error.get("code", "unavailable" if e.code >= 500 else "invalid_input"),
            error.get("message", "the agent answered HTTP %d" % e.code),
            error.get("field"),
            e.code,
        )
        header = e.headers.get("Retry-After") if e.headers else None
        if header is not None:
            try:
                err.retry_after = float(header)  # type: ignore[attr-defined]
            except ValueError:
                pass
        return err


class AsyncUsageTracker:
    """The same client for asyncio code: each call runs the blocking one in a worker thread.

    async with AsyncUsageTracker(api_key=..., tenant_id=...) as tracker:
        await tracker.track_llm(user_id="user-123", model="gpt-4", input_tokens=100, output_tokens=50)
    """

    def __init__(self, *args: Any, **kwargs: Any):
        self._sync = UsageTracker(*args, **kwargs)

    async def __aenter__(self) -> "AsyncUsageTracker":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await asyncio.to_thread(self._sync.flush)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._sync, name)
        if not callable(target) or name == "batch":
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(target, *args, **kwargs)

        return call
