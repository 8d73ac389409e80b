"""A local stand-in of the Anthropic Messages and Models API on 127.0.0.1 that answers from a scenario.

Validates requests like the real API and streams SSE the SDK parses as if it were real; stdlib only, no Qt.
"""

from __future__ import annotations

import copy
import hashlib
import http.server
import json
import math
import re
import socket
import socketserver
import struct
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from app.standin.critic import critic_turn, is_critic_request
from app.standin.scenario import ConnectionReset, Fault, Scenario, Stall, StreamFault, Turn, fresh_id, text_block

DEFAULT_MODELS: tuple[dict[str, str], ...] = (
    {"id": "claude-opus-5-5", "display_name": "Claude Opus 5.5", "created_at": "2026-05-20T00:00:00Z"},
    {"id": "claude-sonnet-5-5", "display_name": "Claude Sonnet 5.5", "created_at": "2026-05-13T00:00:00Z"},
    {"id": "claude-haiku-5-5", "display_name": "Claude Haiku 5.5", "created_at": "2026-04-29T00:00:00Z"},
)

MAX_CACHE_BREAKPOINTS = 4

# Block types the real API accepts inside messages; anything else is a client bug worth a 400.
_KNOWN_BLOCK_TYPES = frozenset(
    {
        "text",
        "image",
        "document",
        "search_result",
        "tool_use",
        "tool_result",
        "thinking",
        "redacted_thinking",
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "mcp_tool_use",
        "mcp_tool_result",
        "container_upload",
        "tool_reference",
    }
)
# Each text editor tool version only accepts one tool name.
_TEXT_EDITOR_NAMES = {
    "text_editor_20250124": "str_replace_editor",
    "text_editor_20250429": "str_replace_based_edit_tool",
    "text_editor_20250728": "str_replace_based_edit_tool",
}


class InvalidRequest(ValueError):
    """A request the real API would answer with 400 invalid_request_error; ``str(error)`` is the API's message."""


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    # As sent, query string included.
    path: str
    # Header names lower-cased.
    headers: dict[str, str]
    # The decoded JSON body; None when there was no body or it was not JSON.
    body: Any


def validate_messages_request(body: Any, *, require_max_tokens: bool = True) -> None:
    """Raise InvalidRequest with the real API's kind of message when ``body`` is not a valid Messages request."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    if "model" not in body:
        raise InvalidRequest("model: Field required")
    if not isinstance(body["model"], str) or not body["model"]:
        raise InvalidRequest("model: Input should be a valid string")
    if require_max_tokens:
        if "max_tokens" not in body:
            raise InvalidRequest("max_tokens: Field required")
        max_tokens = body["max_tokens"]
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
            raise InvalidRequest("max_tokens: Input should be a valid integer")
        if max_tokens < 1:
            raise InvalidRequest("max_tokens: Input should be greater than or equal to 1")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InvalidRequest("stream: Input should be a valid boolean")
    _validate_system(body.get("system"))
    _validate_tools(body.get("tools"))
    if "messages" not in body:
        raise InvalidRequest("messages: Field required")
    messages = body["messages"]
    if not isinstance(messages, list):
        raise InvalidRequest("messages: Input should be a valid list")
    if not messages:
        raise InvalidRequest("messages: at least one message is required")
    blocks_by_message = [
        _validate_message_shape(index, message, is_last=index == len(messages) - 1)
        for index, message in enumerate(messages)
    ]
    _validate_tool_pairing(messages, blocks_by_message)
    breakpoints = sum(1 for segment in _prompt_segments(body) if segment.cached)
    if breakpoints > MAX_CACHE_BREAKPOINTS:
        raise InvalidRequest(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found {breakpoints}."
        )


def _validate_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise InvalidRequest("system: Input should be a valid string or a list of text blocks")
    for index, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise InvalidRequest(f"system.{index}.type: Input should be 'text'")
        if not isinstance(block.get("text"), str):
            raise InvalidRequest(f"system.{index}.text: Field required")
        if not block["text"]:
            raise InvalidRequest(f"system.{index}: text content blocks must be non-empty")


def _validate_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise InvalidRequest("tools: Input should be a valid list")
    seen_names: set[str] = set()
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise InvalidRequest(f"tools.{index}: Input should be a valid dictionary")
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequest(f"tools.{index}.name: Field required")
        tool_type = tool.get("type", "custom")
        if tool_type in (None, "custom"):
            if "input_schema" not in tool:
                raise InvalidRequest(f"tools.{index}.custom.input_schema: Field required")
            if not isinstance(tool["input_schema"], dict) or tool["input_schema"].get("type") != "object":
                raise InvalidRequest(f"tools.{index}.custom.input_schema.type: Input should be 'object'")
            if not re.fullmatch(r"[a-zA-Z0-9_-]{1,128}", name):
                raise InvalidRequest(
                    f"tools.{index}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
                )
        elif tool_type in _TEXT_EDITOR_NAMES and name != _TEXT_EDITOR_NAMES[tool_type]:
            raise InvalidRequest(f"tools.{index}.{tool_type}.name: Input should be '{_TEXT_EDITOR_NAMES[tool_type]}'")
        if name in seen_names:
            raise InvalidRequest("tools: Tool names must be unique.")
        seen_names.add(name)


def _validate_message_shape(index: int, message: Any, *, is_last: bool) -> list[dict[str, Any]]:
    where = f"messages.{index}"
    if not isinstance(message, dict):
        raise InvalidRequest(f"{where}: Input should be a valid dictionary")
    role = message.get("role")
    if "role" not in message:
        raise InvalidRequest(f"{where}.role: Field required")
    if role not in ("user", "assistant"):
        raise InvalidRequest(f"{where}.role: Input should be 'user' or 'assistant'")
    if "content" not in message:
        raise InvalidRequest(f"{where}.content: Field required")
    if index == 0 and role != "user":
        raise InvalidRequest('messages: first message must use the "user" role')
    content = message["content"]
    if isinstance(content, str):
        blocks = [{"type": "text", "text": content}] if content else []
    elif isinstance(content, list):
        blocks = content
    else:
        raise InvalidRequest(f"{where}.content: Input should be a valid string or a list of content blocks")
    final_assistant = is_last and role == "assistant"
    if not blocks and not final_assistant:
        raise InvalidRequest(
            "messages: all messages must have non-empty content except for the optional final "
            f"assistant message (found empty content in {where})"
        )
    for block_index, block in enumerate(blocks):
        _validate_block(f"{where}.content.{block_index}", block, role)
    if (
        final_assistant
        and blocks
        and blocks[-1].get("type") == "text"
        and blocks[-1]["text"] != blocks[-1]["text"].rstrip()
    ):
        raise InvalidRequest("messages: final assistant content cannot end with trailing whitespace")
    return blocks


def _validate_block(where: str, block: Any, role: str) -> None:
    if not isinstance(block, dict):
        raise InvalidRequest(f"{where}: Input should be a valid dictionary")
    block_type = block.get("type")
    if block_type not in _KNOWN_BLOCK_TYPES:
        raise InvalidRequest(
            f"{where}.type: Input tag {block_type!r} found using 'type' does not match any of the "
            f"expected tags: {', '.join(sorted(_KNOWN_BLOCK_TYPES))}"
        )
    if block_type == "text":
        _validate_text_block(where, block)
    elif block_type == "tool_use":
        _validate_tool_use_block(where, block, role)
    elif block_type == "tool_result":
        _validate_tool_result_block(where, block, role)


def _validate_text_block(where: str, block: dict[str, Any]) -> None:
    if not isinstance(block.get("text"), str):
        raise InvalidRequest(f"{where}.text: Field required")
    if not block["text"]:
        raise InvalidRequest(f"messages: text content blocks must be non-empty (found one at {where})")


def _validate_tool_use_block(where: str, block: dict[str, Any], role: str) -> None:
    if role != "assistant":
        raise InvalidRequest(f"{where}: `tool_use` blocks can only be in `assistant` messages")
    for key, kind in (("id", str), ("name", str), ("input", dict)):
        if key not in block:
            raise InvalidRequest(f"{where}.tool_use.{key}: Field required")
        if not isinstance(block[key], kind):
            expected = "a valid dictionary" if kind is dict else "a valid string"
            raise InvalidRequest(f"{where}.tool_use.{key}: Input should be {expected}")


def _validate_tool_result_block(where: str, block: dict[str, Any], role: str) -> None:
    if role != "user":
        raise InvalidRequest(f"{where}: `tool_result` blocks can only be in `user` messages")
    if not isinstance(block.get("tool_use_id"), str):
        raise InvalidRequest(f"{where}.tool_result.tool_use_id: Field required")
    result_content = block.get("content", "")
    if not isinstance(result_content, (str, list)):
        raise InvalidRequest(f"{where}.tool_result.content: Input should be a valid string or a list of content blocks")
    if isinstance(result_content, list):
        _validate_tool_result_content(where, result_content)
    if "is_error" in block and not isinstance(block["is_error"], bool):
        raise InvalidRequest(f"{where}.tool_result.is_error: Input should be a valid boolean")


def _validate_tool_result_content(where: str, result_content: list[Any]) -> None:
    for inner_index, inner in enumerate(result_content):
        if not isinstance(inner, dict) or inner.get("type") not in (
            "text",
            "image",
            "document",
            "search_result",
            "tool_reference",
        ):
            raise InvalidRequest(
                f"{where}.tool_result.content.{inner_index}.type: Input should be 'text', "
                "'image', 'document', 'search_result' or 'tool_reference'"
            )
        if inner["type"] == "text" and not inner.get("text"):
            raise InvalidRequest(
                f"messages: text content blocks must be non-empty (found one at {where}.content.{inner_index})"
            )


def _validate_tool_pairing(messages: list[dict[str, Any]], blocks_by_message: list[list[dict[str, Any]]]) -> None:
    seen_tool_use_ids: set[str] = set()
    for index, message in enumerate(messages):
        if index > 0 and message["role"] == messages[index - 1]["role"]:
            raise InvalidRequest(
                f'messages.{index}: roles must alternate between "user" and "assistant", but found '
                f'multiple "{message["role"]}" roles in a row'
            )
        blocks = blocks_by_message[index]
        if message["role"] == "assistant":
            for block_index, block in enumerate(blocks):
                if block["type"] == "tool_use":
                    if block["id"] in seen_tool_use_ids:
                        raise InvalidRequest(
                            f"messages.{index}.content.{block_index}: `tool_use` ids must be unique: {block['id']}"
                        )
                    seen_tool_use_ids.add(block["id"])
            tool_use_ids = [block["id"] for block in blocks if block["type"] == "tool_use"]
            if not tool_use_ids:
                continue
            answered = _leading_tool_result_ids(blocks_by_message[index + 1]) if index + 1 < len(messages) else []
            missing = [tool_use_id for tool_use_id in tool_use_ids if tool_use_id not in answered]
            if missing:
                raise InvalidRequest(
                    f"messages.{index}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                    "corresponding `tool_result` block in the next message."
                )
        else:
            previous_ids = (
                {block["id"] for block in blocks_by_message[index - 1] if block["type"] == "tool_use"}
                if index > 0
                else set()
            )
            answered_ids: set[str] = set()
            for block_index, block in enumerate(blocks):
                if block["type"] != "tool_result":
                    continue
                tool_use_id = block["tool_use_id"]
                if tool_use_id not in previous_ids:
                    raise InvalidRequest(
                        f"messages.{index}.content.{block_index}: unexpected `tool_use_id` found in "
                        f"`tool_result` blocks: {tool_use_id}. Each `tool_result` block must have "
                        "a corresponding `tool_use` block in the previous message."
                    )
                if tool_use_id in answered_ids:
                    raise InvalidRequest(
                        f"messages.{index}.content.{block_index}: each tool_use must have a single "
                        f"result. Found multiple `tool_result` blocks with id: {tool_use_id}"
                    )
                answered_ids.add(tool_use_id)


def _leading_tool_result_ids(blocks: list[dict[str, Any]]) -> list[str]:
    # The API wants tool results first in the user message; a result after other content does not count.
    ids = []
    for block in blocks:
        if block["type"] != "tool_result":
            break
        ids.append(block["tool_use_id"])
    return ids


@dataclass(frozen=True)
class _Segment:
    text: str
    cached: bool


def _prompt_segments(body: Mapping[str, Any]) -> list[_Segment]:
    """The prompt in the order the API caches it (tools, system, messages), one segment per block."""
    segments = []
    for tool in body.get("tools") or []:
        segments.append(_Segment(_canonical_json(tool), isinstance(tool, dict) and "cache_control" in tool))
    system = body.get("system")
    if isinstance(system, str):
        segments.append(_Segment(_canonical_json(system), False))
    elif isinstance(system, list):
        for block in system:
            segments.append(_Segment(_canonical_json(block), isinstance(block, dict) and "cache_control" in block))
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            for block in content:
                segments.append(_Segment(_canonical_json(block), isinstance(block, dict) and "cache_control" in block))
        else:
            segments.append(_Segment(_canonical_json(content), False))
    return segments


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class _PromptCache:
    """Remembers cached prompt prefixes, so a later request that shares one reads it instead of writing it."""

    def __init__(self) -> None:
        self._prefix_keys: set[str] = set()
        self._lock = threading.Lock()

    def usage_for(self, body: Mapping[str, Any]) -> dict[str, int]:
        segments = _prompt_segments(body)
        total_chars = sum(len(segment.text) for segment in segments)
        digest = hashlib.sha256(str(body.get("model")).encode())
        breakpoints: list[tuple[int, str]] = []
        chars_so_far = 0
        for segment in segments:
            digest.update(segment.text.encode())
            digest.update(b"\x00")
            chars_so_far += len(segment.text)
            if segment.cached:
                breakpoints.append((chars_so_far, digest.copy().hexdigest()))
        read_chars = 0
        with self._lock:
            for prefix_chars, key in breakpoints:
                if key in self._prefix_keys:
                    read_chars = max(read_chars, prefix_chars)
            self._prefix_keys.update(key for _, key in breakpoints)
        written_chars = max(0, breakpoints[-1][0] - read_chars) if breakpoints else 0
        cache_read = read_chars // 4
        cache_creation = written_chars // 4
        return {
            "input_tokens": max(1, total_chars // 4 - cache_read - cache_creation),
            "cache_creation_input_tokens": cache_creation,
            "cache_read_input_tokens": cache_read,
        }


def _model_entries(models: Sequence[str | Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    entries = []
    for position, model in enumerate(DEFAULT_MODELS if models is None else models):
        given = {"id": model} if isinstance(model, str) else dict(model)
        model_id = given["id"]
        entries.append(
            {
                "type": "model",
                "id": model_id,
                "display_name": given.get("display_name") or _display_name(model_id),
                # The real list is newest first; made-up dates a month apart keep the given order true to that.
                "created_at": given.get("created_at") or f"2026-{max(1, 12 - position):02d}-01T00:00:00Z",
                "lifecycle": given.get("lifecycle", "active"),
                "max_input_tokens": given.get("max_input_tokens", 200_000),
                "max_tokens": given.get("max_tokens", 64_000),
            }
        )
    return entries


def _display_name(model_id: str) -> str:
    words = model_id.split("-")
    # Trailing version numbers read as "5.5" rather than "5 5".
    while len(words) >= 2 and words[-1].isdigit() and words[-2].isdigit():
        words[-2:] = [f"{words[-2]}.{words[-1]}"]
    return " ".join(word.capitalize() for word in words)


class _ClientGone(Exception):
    """The client closed its connection while the stand-in was still writing."""


class StandinServer:
    """The stand-in API on 127.0.0.1 (a free port); answers POST /v1/messages from ``scenario``.

    ``chunk_delay`` seconds pass between streamed deltas; ``expected_api_key`` also rejects wrong keys (any key passes
    otherwise); unknown model ids get 404 like the real API unless ``accept_any_model``.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        models: Sequence[str | Mapping[str, Any]] | None = None,
        chunk_delay: float = 0.0,
        expected_api_key: str | None = None,
        accept_any_model: bool = False,
    ) -> None:
        self.scenario = scenario
        self.models = _model_entries(models)
        self.chunk_delay = chunk_delay
        self.expected_api_key = expected_api_key
        self.accept_any_model = accept_any_model
        self._requests: list[RecordedRequest] = []
        self._critic_requests: list[RecordedRequest] = []
        self._scenario_errors: list[str] = []
        self._state = threading.Condition()
        self._stopping = threading.Event()
        self._prompt_cache = _PromptCache()
        self._httpd: _HTTPServer | None = None
        self._serve_thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> StandinServer:
        if self._httpd is not None:
            raise RuntimeError("This stand-in server is already running; make a new one to start again.")
        self._stopping.clear()
        self._httpd = _HTTPServer(self)
        self._serve_thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"standin-server-{self.port}",
            daemon=True,
        )
        self._serve_thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections (so streams in flight end) and wait for every thread it started."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if self._serve_thread is not None:
            self._serve_thread.join(timeout=5)
            self._serve_thread = None

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("The stand-in server is not running; call start() first.")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- what happened -----------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._state:
            return list(self._requests)

    @property
    def message_bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of every POST /v1/messages so far, oldest first."""
        return [
            request.body
            for request in self.requests
            if request.method == "POST" and urlsplit(request.path).path.rstrip("/") == "/v1/messages"
        ]

    @property
    def scenario_errors(self) -> list[str]:
        """Tracebacks of exceptions the scenario raised (each was answered with a 500)."""
        with self._state:
            return list(self._scenario_errors)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests arrived; raise TimeoutError after ``timeout`` seconds."""
        with self._state:
            if not self._state.wait_for(lambda: len(self._requests) >= count, timeout=timeout):
                raise TimeoutError(
                    f"The stand-in received {len(self._requests)} requests, not {count}, within {timeout} s."
                )
            return list(self._requests)

    def _record(self, request: RecordedRequest) -> None:
        with self._state:
            self._requests.append(request)
            self._state.notify_all()

    @property
    def critic_bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of the critic's requests (a forced ``record_verdict`` tool), oldest first."""
        with self._state:
            return [request.body for request in self._critic_requests]

    def _record_critic(self, request: RecordedRequest) -> None:
        with self._state:
            self._critic_requests.append(request)
            self._state.notify_all()

    def _record_scenario_error(self, text: str) -> None:
        with self._state:
            self._scenario_errors.append(text)

    def _pause(self) -> None:
        if self.chunk_delay > 0:
            self._stopping.wait(self.chunk_delay)


class _HTTPServer(http.server.HTTPServer):
    """One daemon thread per connection, each tracked so stop() can cut it and wait for it."""

    def __init__(self, standin: StandinServer) -> None:
        self.standin = standin
        self._connections: dict[threading.Thread, socket.socket] = {}
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks DNS for the host's full name, which can stall on machines without a network.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"standin-connection-{client_address[1]}",
            daemon=True,
        )
        with self._connections_lock:
            self._connections[thread] = request
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._connections_lock:
                self._connections.pop(threading.current_thread(), None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, _ClientGone, TimeoutError)) or self.standin._stopping.is_set():
            return
        traceback.print_exc()

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections.items())
        for _, connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the client
        for thread, _ in connections:
            thread.join(timeout=5)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # tests and the demo would drown in access logs

    # -- routing -----------------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        self.request_id = fresh_id("req_")
        standin = self.server.standin
        raw_body = self._read_body()
        body: Any = None
        body_error = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                body_error = f"There was an error parsing the body of your request: {error}"
        recorded = RecordedRequest(
            self.command, self.path, {name.lower(): value for name, value in self.headers.items()}, body
        )
        # The critic's calls are kept apart, so tests of the agent's own conversation see only its requests.
        if isinstance(body, dict) and is_critic_request(body):
            standin._record_critic(recorded)
        else:
            standin._record(recorded)
        path = unquote(urlsplit(self.path).path).rstrip("/")
        query = parse_qs(urlsplit(self.path).query)

        api_key = self._presented_api_key()
        if not api_key:
            return self._send_error(401, "authentication_error", "x-api-key header is required")
        if standin.expected_api_key is not None and api_key != standin.expected_api_key:
            return self._send_error(401, "authentication_error", "invalid x-api-key")
        if not self.headers.get("anthropic-version"):
            return self._send_error(400, "invalid_request_error", "anthropic-version: header is required")
        if body_error is not None:
            return self._send_error(400, "invalid_request_error", body_error)

        if self.command == "POST" and path == "/v1/messages":
            return self._messages(body)
        if self.command == "POST" and path == "/v1/messages/count_tokens":
            return self._count_tokens(body)
        if self.command == "GET" and path == "/v1/models":
            return self._list_models(query)
        if self.command == "GET" and path.startswith("/v1/models/"):
            return self._get_model(path.removeprefix("/v1/models/"))
        return self._send_error(404, "not_found_error", f"Not found: {self.command} {path}")

    def _presented_api_key(self) -> str:
        # Older SDKs send the key as x-api-key; newer ones as a bearer token. The real API takes both.
        if self.headers.get("x-api-key"):
            return self.headers["x-api-key"]
        scheme, _, token = (self.headers.get("authorization") or "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    def _read_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    # -- /v1/models --------------------------------------------------------------------------------------------

    def _list_models(self, query: dict[str, list[str]]) -> None:
        models = self.server.standin.models
        try:
            limit = int(query.get("limit", ["20"])[0])
        except ValueError:
            return self._send_error(400, "invalid_request_error", "limit: Input should be a valid integer")
        if not 1 <= limit <= 1000:
            return self._send_error(400, "invalid_request_error", "limit: Input should be between 1 and 1000")
        after_id = query.get("after_id", [None])[0]
        before_id = query.get("before_id", [None])[0]
        if after_id and before_id:
            return self._send_error(400, "invalid_request_error", "Only one of after_id and before_id may be given")
        ids = [model["id"] for model in models]
        for cursor in (after_id, before_id):
            if cursor and cursor not in ids:
                return self._send_error(400, "invalid_request_error", f"Unknown model id as a cursor: {cursor}")
        if before_id:
            end = ids.index(before_id)
            start = max(0, end - limit)
            page, has_more = models[start:end], start > 0
        else:
            start = ids.index(after_id) + 1 if after_id else 0
            page, has_more = models[start : start + limit], start + limit < len(models)
        self._send_json(
            200,
            {
                "data": page,
                "has_more": has_more,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
            },
        )

    def _get_model(self, model_id: str) -> None:
        for model in self.server.standin.models:
            if model["id"] == model_id:
                return self._send_json(200, model)
        self._send_error(404, "not_found_error", f"model: {model_id}")

    # -- /v1/messages ------------------------------------------------------------------------------------------

    def _check_messages_request(self, body: Any, *, require_max_tokens: bool = True) -> bool:
        standin = self.server.standin
        try:
            validate_messages_request(body, require_max_tokens=require_max_tokens)
        except InvalidRequest as error:
            self._send_error(400, "invalid_request_error", str(error))
            return False
        known_ids = [model["id"] for model in standin.models]
        if not standin.accept_any_model and body["model"] not in known_ids:
            self._send_error(
                404, "not_found_error", f"model: {body['model']} (the stand-in serves: {', '.join(known_ids)})"
            )
            return False
        return True

    def _count_tokens(self, body: Any) -> None:
        if self._check_messages_request(body, require_max_tokens=False):
            total = sum(len(segment.text) for segment in _prompt_segments(body))
            self._send_json(200, {"input_tokens": max(1, total // 4)})

    def _messages(self, body: Any) -> None:
        if not self._check_messages_request(body):
            return
        standin = self.server.standin
        try:
            # A critic's request (issue 13) is answered by the stand-in's critic whatever the scenario.
            reply = critic_turn(body) if is_critic_request(body) else standin.scenario(copy.deepcopy(body))
            if not isinstance(reply, (Turn, Fault, StreamFault, ConnectionReset, Stall)):
                raise TypeError(
                    f"a scenario must return Turn, Fault, StreamFault, ConnectionReset or Stall, "
                    f"not {type(reply).__name__}"
                )
        except Exception as error:
            standin._record_scenario_error(traceback.format_exc())
            return self._send_error(500, "api_error", f"The stand-in's scenario raised {type(error).__name__}: {error}")
        if isinstance(reply, Stall):
            standin._stopping.wait(reply.seconds)
            if reply.then is None or standin._stopping.is_set():
                return self._drop_connection()
            reply = reply.then
        if isinstance(reply, ConnectionReset):
            return self._reset_connection()
        if isinstance(reply, Fault):
            return self._send_error(reply.status, reply.error_type, reply.message, reply.headers)
        usage = standin._prompt_cache.usage_for(body)
        message_id = fresh_id("msg_")
        if isinstance(reply, StreamFault):
            turn = reply.then or Turn(
                [text_block("This reply is cut short by a stand-in fault."), text_block("Nobody should see this part.")]
            )
            if not body.get("stream"):
                # Without a stream there is nothing to cut midway; the nearest real failures are these.
                if reply.mode == "drop":
                    return self._drop_connection()
                return self._send_error(529, "overloaded_error", "Overloaded")
            return self._stream(body, turn, usage, message_id, fault=reply)
        if body.get("stream"):
            return self._stream(body, reply, usage, message_id, fault=None)
        self._send_json(
            200,
            {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": copy.deepcopy(reply.content),
                "stop_reason": reply.stop_reason,
                "stop_sequence": None,
                "usage": {**usage, "output_tokens": _output_tokens(reply), "service_tier": "standard"},
            },
        )

    def _stream(
        self, body: dict[str, Any], turn: Turn, usage: dict[str, int], message_id: str, fault: StreamFault | None
    ) -> None:
        standin = self.server.standin
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", self.request_id)
        self.end_headers()
        try:
            self._send_event(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": message_id,
                        "type": "message",
                        "role": "assistant",
                        "model": body["model"],
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {**usage, "output_tokens": 1, "service_tier": "standard"},
                    },
                },
            )
            self._send_event("ping", {"type": "ping"})
            for index, block in enumerate(turn.content):
                if fault is not None and index == fault.after_blocks:
                    return self._stream_fault(fault)
                for event_name, payload in _block_events(index, block):
                    if event_name == "content_block_delta":
                        standin._pause()
                    self._send_event(event_name, payload)
            if fault is not None:
                return self._stream_fault(fault)
            self._send_event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": turn.stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": _output_tokens(turn)},
                },
            )
            self._send_event("message_stop", {"type": "message_stop"})
            self._write_chunk(b"")
        except (ConnectionError, OSError) as error:
            self.close_connection = True
            raise _ClientGone() from error

    def _stream_fault(self, fault: StreamFault) -> None:
        if fault.mode == "drop":
            return self._drop_connection()
        self._send_event(
            "error",
            {
                "type": "error",
                "error": {"type": "overloaded_error", "message": "Overloaded"},
                "request_id": self.request_id,
            },
        )
        self._write_chunk(b"")

    def _reset_connection(self) -> None:
        """Close with SO_LINGER 0, so the client gets a TCP RST instead of an orderly end of stream."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass  # the client already left

    def _drop_connection(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # the client already left

    # -- writing -----------------------------------------------------------------------------------------------

    def _send_event(self, name: str, payload: dict[str, Any]) -> None:
        if self.server.standin._stopping.is_set():
            # A stopping server must not finish streams in flight: the client would think the reply was whole.
            self._drop_connection()
            raise _ClientGone()
        self._write_chunk(f"event: {name}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n".encode())

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send_json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", self.request_id)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_error(self, status: int, error_type: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        self._send_json(
            status,
            {"type": "error", "error": {"type": error_type, "message": message}, "request_id": self.request_id},
            headers,
        )


def _block_events(index: int, block: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The content_block_start / _delta / _stop events that stream ``block`` the way the real API does."""
    block_type = block.get("type")
    if block_type == "text":
        yield (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
        )
        for piece in _text_pieces(block["text"]):
            yield (
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}},
            )
    elif block_type in ("tool_use", "server_tool_use"):
        yield (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}},
        )
        # The real API opens every tool input with an empty fragment.
        for piece in ["", *_json_pieces(json.dumps(block.get("input", {}), ensure_ascii=False))]:
            yield (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                },
            )
    elif block_type == "thinking":
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""},
            },
        )
        for piece in _text_pieces(block.get("thinking", "")):
            yield (
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": piece}},
            )
        yield (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "signature_delta", "signature": block.get("signature", "")},
            },
        )
    else:
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}
    yield "content_block_stop", {"type": "content_block_stop", "index": index}


def _text_pieces(text: str) -> list[str]:
    # About two words per delta, like the real API's few-token deltas.
    words = re.findall(r"\s*\S+\s*|\s+", text)
    return ["".join(words[start : start + 2]) for start in range(0, len(words), 2)]


def _json_pieces(serialized: str) -> list[str]:
    size = max(8, math.ceil(len(serialized) / 10))
    return [serialized[start : start + size] for start in range(0, len(serialized), size)]


def _output_tokens(turn: Turn) -> int:
    return max(1, len(_canonical_json(turn.content)) // 4)
