"""Which Messages API a session talks to: Anthropic's (key from ``api_key``, ANTHROPIC_BASE_URL honoured by the SDK)
or the shipped offline demo, served by the same local stand-in the tests use. Both go through ``anthropic``.

No Qt here.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.services.api_key import ApiKey

if TYPE_CHECKING:
    import anthropic

ANTHROPIC = "anthropic"
DEMO = "demo"
API_MAX_RETRIES = 4


class NoApiKeyError(Exception):
    pass


async def load_sdk() -> None:
    """Import the SDK on a worker thread (1.5-3.5 s here), so the first client made on the event loop's thread never
    freezes the window; at once when it is loaded already."""
    if "anthropic" not in sys.modules:
        await asyncio.to_thread(importlib.import_module, "anthropic")


class Endpoints:
    """Hands out SDK clients per endpoint; owns the demo stand-in server while one is needed."""

    def __init__(self, api_key: Callable[[], ApiKey | None], *, demo_chunk_delay_s: float = 0.012) -> None:
        self._api_key = api_key
        self._demo_chunk_delay_s = demo_chunk_delay_s
        self._demo_server = None
        self._lock = threading.Lock()
        self._tls = None

    def client(self, endpoint: str) -> anthropic.AsyncAnthropic:
        """An SDK client for ``endpoint`` (imports the SDK here if ``load_sdk`` was not awaited first)."""
        import anthropic

        if endpoint == DEMO:
            return anthropic.AsyncAnthropic(
                base_url=self.demo_base_url(),
                api_key="offline-demo",
                max_retries=API_MAX_RETRIES,
                http_client=self._http_client(),
            )
        key = self._api_key()
        if key is None:
            raise NoApiKeyError(
                "No Anthropic API key: add one in Settings or set ANTHROPIC_API_KEY (or use the offline demo)."
            )
        return anthropic.AsyncAnthropic(api_key=key.value, max_retries=API_MAX_RETRIES, http_client=self._http_client())

    def _http_client(self) -> anthropic.DefaultAsyncHttpxClient:
        """The SDK's default HTTP client over one shared TLS context: building a context loads the CA bundle (~70 ms
        holding the GIL), which per client froze the window while critic calls started (20 in flight: ~1 s)."""
        import anthropic

        with self._lock:
            if self._tls is None:
                import httpx2

                # What the SDK's own client builds each time (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), once.
                self._tls = httpx2.create_ssl_context()
            return anthropic.DefaultAsyncHttpxClient(verify=self._tls)

    def demo_base_url(self) -> str:
        from app.standin.demo import DEMO_MODELS, DemoScenario
        from app.standin.server import StandinServer

        with self._lock:
            if self._demo_server is None:
                self._demo_server = StandinServer(
                    DemoScenario(), models=DEMO_MODELS, chunk_delay=self._demo_chunk_delay_s
                ).start()
            return self._demo_server.base_url

    async def model_ids(self, endpoint: str) -> list[str]:
        """Model ids from the Models API, newest first as the API lists them."""
        await load_sdk()
        client = self.client(endpoint)
        try:
            return [model.id async for model in client.models.list(limit=100)]
        finally:
            await client.close()

    def close(self) -> None:
        with self._lock:
            if self._demo_server is not None:
                self._demo_server.stop()
                self._demo_server = None
