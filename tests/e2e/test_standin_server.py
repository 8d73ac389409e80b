"""The stand-in Messages API against the real anthropic SDK over real HTTP on 127.0.0.1: streams, errors, retries."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx2
import pytest

from app.standin.scenario import Fault, StreamFault, Turn, text_block, text_turn, tool_turn, tool_use_block
from app.standin.server import DEFAULT_MODELS, InvalidRequest, StandinServer, validate_messages_request
from tests.support.scripted_scenario import ScriptedScenario

MODEL = "claude-sonnet-5-5"
HELLO = [{"role": "user", "content": "Hello"}]
# Tool inputs that split badly: escapes, quotes, non-ASCII, nesting.
AWKWARD_FILE_TEXT = 'def hi():\n    print("héllo \\"world\\" ✓")\n\ttab\n' * 4


@pytest.fixture
def serve() -> Iterator[Callable[..., StandinServer]]:
    """Starts stand-in servers for the test and stops every one of them afterwards."""
    servers: list[StandinServer] = []

    def start(scenario: Any, **options: Any) -> StandinServer:
        server = StandinServer(scenario, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def sync_client(server: StandinServer, **options: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.base_url, api_key="test", **{"max_retries": 0, **options})


def two_tool_turn() -> Turn:
    return tool_turn(
        text_block("I'll read the file and then write the new one."),
        tool_use_block("str_replace_based_edit_tool", {"command": "view", "path": "greet.py"}, id="toolu_view"),
        tool_use_block(
            "str_replace_based_edit_tool",
            {"command": "create", "path": "hi.py", "file_text": AWKWARD_FILE_TEXT},
            id="toolu_create",
        ),
    )


def test_streamed_text_and_two_tool_calls_arrive_whole_in_the_final_message(serve):
    server = serve(ScriptedScenario([two_tool_turn()]))

    async def stream_once() -> tuple[list[str], list[str], anthropic.types.Message]:
        async with anthropic.AsyncAnthropic(base_url=server.base_url, api_key="test", max_retries=0) as client:
            async with client.messages.stream(model=MODEL, max_tokens=1024, messages=HELLO) as stream:
                event_types = []
                text_pieces = []
                async for event in stream:
                    event_types.append(event.type)
                    if event.type == "text":
                        text_pieces.append(event.text)
                return event_types, text_pieces, await stream.get_final_message()

    event_types, text_pieces, message = asyncio.run(stream_once())

    assert len(text_pieces) > 1, "text should arrive in several deltas"
    assert "".join(text_pieces) == "I'll read the file and then write the new one."
    assert event_types.count("input_json") > 4, "tool inputs should arrive as several partial JSON pieces"
    assert message.stop_reason == "tool_use"
    assert [block.type for block in message.content] == ["text", "tool_use", "tool_use"]
    assert message.content[1].id == "toolu_view"
    assert message.content[1].input == {"command": "view", "path": "greet.py"}
    assert message.content[2].input == {"command": "create", "path": "hi.py", "file_text": AWKWARD_FILE_TEXT}
    assert message.usage.output_tokens > 1
    assert message.model == MODEL


def test_non_streaming_create_returns_the_scripted_turn_and_records_the_request(serve):
    server = serve(ScriptedScenario([text_turn("Hi there.")]))
    with sync_client(server) as client:
        message = client.messages.create(model=MODEL, max_tokens=64, messages=HELLO, system="Be brief.")

    assert message.content[0].text == "Hi there."
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens >= 1
    assert message.id.startswith("msg_")
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.body["system"] == "Be brief."
    assert request.headers["anthropic-version"]
    assert server.message_bodies == [request.body]


def test_models_list_pages_forward_and_backward_and_retrieves_one_model(serve):
    models = ["model-a", "model-b", "model-c", "model-d", "model-e"]
    server = serve(ScriptedScenario([]), models=models)
    with sync_client(server) as client:
        first_page = client.models.list(limit=2)
        every_model = [model.id for model in client.models.list(limit=2)]
        before_page = client.models.list(limit=2, before_id="model-e")
        one_model = client.models.retrieve("model-c")
        with pytest.raises(anthropic.NotFoundError, match="model: no-such-model"):
            client.models.retrieve("no-such-model")

    assert [model.id for model in first_page.data] == ["model-a", "model-b"]
    assert first_page.has_more is True
    assert (first_page.first_id, first_page.last_id) == ("model-a", "model-b")
    assert every_model == models
    assert [model.id for model in before_page.data] == ["model-c", "model-d"]
    assert one_model.display_name == "Model C"
    assert one_model.lifecycle == "active"
    assert one_model.type == "model"


def test_default_models_parse_as_the_sdk_model_info(serve):
    server = serve(ScriptedScenario([]))
    with sync_client(server) as client:
        listed = client.models.list()
    assert [model.id for model in listed.data] == [model["id"] for model in DEFAULT_MODELS]
    assert listed.has_more is False
    assert all(model.created_at.year >= 2026 for model in listed.data)


def test_a_rate_limit_with_retry_after_is_retried_and_then_succeeds(serve):
    server = serve(ScriptedScenario([Fault.rate_limited(retry_after=0.01), text_turn("Made it.")]))
    with sync_client(server, max_retries=2) as client:
        message = client.messages.create(model=MODEL, max_tokens=64, messages=HELLO)

    assert message.content[0].text == "Made it."
    assert [request.headers["x-stainless-retry-count"] for request in server.requests] == ["0", "1"]


@pytest.mark.parametrize(
    ("fault", "status", "error_class"),
    [
        (Fault.api_error(retry_after=0.01), 500, anthropic.InternalServerError),
        (Fault.overloaded(retry_after=0.01), 529, anthropic.OverloadedError),
    ],
)
def test_server_errors_surface_as_api_status_errors_once_retries_run_out(serve, fault, status, error_class):
    server = serve(ScriptedScenario([fault, fault]))
    with sync_client(server, max_retries=1) as client, pytest.raises(error_class) as raised:
        client.messages.create(model=MODEL, max_tokens=64, messages=HELLO)

    assert raised.value.status_code == status
    assert raised.value.body["error"]["type"] == fault.error_type
    assert raised.value.request_id.startswith("req_")
    assert len(server.requests) == 2


def test_an_error_event_mid_stream_raises_api_status_error_after_the_blocks_already_sent(serve):
    server = serve(ScriptedScenario([StreamFault(after_blocks=1, mode="error_event", then=two_tool_turn())]))
    received_text = []
    with sync_client(server, max_retries=2) as client, pytest.raises(anthropic.APIStatusError) as raised:
        with client.messages.stream(model=MODEL, max_tokens=64, messages=HELLO) as stream:
            for text in stream.text_stream:
                received_text.append(text)

    assert "".join(received_text) == "I'll read the file and then write the new one."
    assert raised.value.body["error"]["type"] == "overloaded_error"
    assert len(server.requests) == 1, "an error event mid-stream is not retried"


def _error_chain_text(error: BaseException | None) -> str:
    texts = []
    while error is not None:
        texts.append(str(error))
        error = error.__cause__ or error.__context__
    return " | ".join(texts)


def test_a_dropped_stream_raises_a_transport_error_after_the_blocks_already_sent(serve):
    server = serve(ScriptedScenario([StreamFault(after_blocks=1, mode="drop", then=two_tool_turn())]))

    async def consume() -> list[str]:
        received = []
        async with anthropic.AsyncAnthropic(base_url=server.base_url, api_key="test", max_retries=2) as client:
            async with client.messages.stream(model=MODEL, max_tokens=64, messages=HELLO) as stream:
                async for text in stream.text_stream:
                    received.append(text)
        return received

    # anthropic >= 2 wraps the cut body's transport error in APIConnectionError; older releases let it through.
    with pytest.raises((httpx2.RemoteProtocolError, anthropic.APIConnectionError)) as raised:
        asyncio.run(consume())
    assert "incomplete chunked read" in _error_chain_text(raised.value)
    assert len(server.requests) == 1


def test_a_dropped_non_streaming_request_fails_to_connect(serve):
    server = serve(ScriptedScenario([StreamFault(mode="drop")]))
    with sync_client(server) as client, pytest.raises(anthropic.APIConnectionError):
        client.messages.create(model=MODEL, max_tokens=64, messages=HELLO)
    assert len(server.requests) == 1


def test_a_tool_use_without_its_tool_result_is_refused_like_the_real_api(serve):
    scenario = ScriptedScenario([text_turn("never sent")])
    server = serve(scenario)
    messages = [
        {"role": "user", "content": "Fix it"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_a", "name": "run_command", "input": {"command": "ls"}}],
        },
        {"role": "user", "content": "and?"},
    ]
    with sync_client(server) as client, pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(model=MODEL, max_tokens=64, messages=messages)

    assert raised.value.body["error"]["type"] == "invalid_request_error"
    assert raised.value.body["error"]["message"] == (
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_a. "
        "Each `tool_use` block must have a corresponding `tool_result` block in the next message."
    )
    assert scenario.used == 0, "a refused request never reaches the scenario"
    assert len(server.requests) == 1, "a 400 is not retried"


TOOL_USE = {"type": "tool_use", "id": "toolu_a", "name": "run_command", "input": {"command": "ls"}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"max_tokens": 5, "messages": HELLO}, "model: Field required"),
        ({"model": MODEL, "messages": HELLO}, "max_tokens: Field required"),
        ({"model": MODEL, "max_tokens": 5}, "messages: Field required"),
        (
            {"model": MODEL, "max_tokens": 0, "messages": HELLO},
            "max_tokens: Input should be greater than or equal to 1",
        ),
        ({"model": MODEL, "max_tokens": 5, "messages": []}, "messages: at least one message is required"),
        (
            {"model": MODEL, "max_tokens": 5, "messages": [{"role": "assistant", "content": "Hi"}]},
            'messages: first message must use the "user" role',
        ),
        (
            {"model": MODEL, "max_tokens": 5, "messages": [*HELLO, *HELLO]},
            'messages.1: roles must alternate between "user" and "assistant", but found multiple "user" roles in a row',
        ),
        (
            {
                "model": MODEL,
                "max_tokens": 5,
                "messages": [
                    *HELLO,
                    {"role": "assistant", "content": "ok"},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "done"}]},
                ],
            },
            "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_x. Each `tool_result` "
            "block must have a corresponding `tool_use` block in the previous message.",
        ),
        (
            {
                "model": MODEL,
                "max_tokens": 5,
                "messages": [
                    *HELLO,
                    {"role": "assistant", "content": [TOOL_USE]},
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "first"},
                            {"type": "tool_result", "tool_use_id": "toolu_a", "content": "done"},
                        ],
                    },
                ],
            },
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_a. Each "
            "`tool_use` block must have a corresponding `tool_result` block in the next message.",
        ),
        (
            {"model": MODEL, "max_tokens": 5, "messages": [*HELLO, {"role": "assistant", "content": [TOOL_USE]}]},
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_a. Each "
            "`tool_use` block must have a corresponding `tool_result` block in the next message.",
        ),
        (
            {
                "model": MODEL,
                "max_tokens": 5,
                "messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}],
            },
            "messages: text content blocks must be non-empty (found one at messages.0.content.0)",
        ),
        (
            {"model": MODEL, "max_tokens": 5, "messages": HELLO, "tools": [{"name": "run_command"}]},
            "tools.0.custom.input_schema: Field required",
        ),
        (
            {
                "model": MODEL,
                "max_tokens": 5,
                "messages": HELLO,
                "tools": [{"type": "text_editor_20250728", "name": "str_replace_editor"}],
            },
            "tools.0.text_editor_20250728.name: Input should be 'str_replace_based_edit_tool'",
        ),
        (
            {
                "model": MODEL,
                "max_tokens": 5,
                "messages": HELLO,
                "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}] * 5,
            },
            "A maximum of 4 blocks with cache_control may be provided. Found 5.",
        ),
    ],
)
def test_the_validator_refuses_what_the_real_api_refuses_with_its_message(body, message):
    with pytest.raises(InvalidRequest) as raised:
        validate_messages_request(body)
    assert str(raised.value) == message


def test_the_validator_accepts_a_full_tool_round_trip():
    validate_messages_request(
        {
            "model": MODEL,
            "max_tokens": 5,
            "messages": [
                *HELLO,
                {"role": "assistant", "content": [{"type": "text", "text": "Looking."}, TOOL_USE]},
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_a",
                            "is_error": True,
                            "content": [{"type": "text", "text": "Rejected. Reason: no"}],
                        },
                        {"type": "text", "text": "Try again"},
                    ],
                },
            ],
            "tools": [
                {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
                {"name": "run_command", "input_schema": {"type": "object"}},
            ],
        }
    )


def post_raw(server: StandinServer, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict]:
    """A plain stdlib POST, for requests the SDK would never send (it always sends a key)."""
    request = urllib.request.Request(
        server.base_url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_a_request_without_an_api_key_is_refused_with_401(serve):
    server = serve(ScriptedScenario([text_turn("never sent")]))
    status, body = post_raw(
        server,
        "/v1/messages",
        {"model": MODEL, "max_tokens": 5, "messages": HELLO},
        {"anthropic-version": "2023-06-01"},
    )
    assert status == 401
    assert body["error"] == {"type": "authentication_error", "message": "x-api-key header is required"}


def test_an_x_api_key_header_is_accepted_like_a_bearer_token(serve):
    server = serve(ScriptedScenario([text_turn("Hi.")]), expected_api_key="sk-right")
    status, body = post_raw(
        server,
        "/v1/messages",
        {"model": MODEL, "max_tokens": 5, "messages": HELLO},
        {"anthropic-version": "2023-06-01", "x-api-key": "sk-right"},
    )
    assert status == 200
    assert body["content"] == [{"type": "text", "text": "Hi."}]


def test_a_wrong_api_key_is_refused_with_401_when_a_key_is_expected(serve):
    server = serve(ScriptedScenario([text_turn("never sent")]), expected_api_key="sk-right")
    with sync_client(server) as client, pytest.raises(anthropic.AuthenticationError, match="invalid x-api-key"):
        client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)


def test_an_unknown_model_is_refused_with_404_naming_the_known_ones(serve):
    server = serve(ScriptedScenario([text_turn("never sent")]))
    with sync_client(server) as client, pytest.raises(anthropic.NotFoundError, match="claude-haiku-5-5"):
        client.messages.create(model="claude-nonexistent", max_tokens=5, messages=HELLO)


def test_a_scenario_that_raises_answers_500_with_its_error_and_keeps_the_traceback(serve):
    def broken_scenario(request: dict[str, Any]) -> Turn:
        raise KeyError("steps")

    server = serve(broken_scenario)
    with sync_client(server) as client, pytest.raises(anthropic.InternalServerError, match="KeyError: 'steps'"):
        client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
    (traceback_text,) = server.scenario_errors
    assert "broken_scenario" in traceback_text


def test_a_scripted_scenario_that_runs_out_says_so_in_a_500(serve):
    server = serve(ScriptedScenario([text_turn("Only one.")]))
    with sync_client(server) as client:
        client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
        with pytest.raises(anthropic.InternalServerError, match="ran out of replies: it had 1"):
            client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)


def test_a_cached_prefix_is_written_once_and_read_by_later_requests(serve):
    server = serve(ScriptedScenario([text_turn("One."), text_turn("Two."), text_turn("Three.")]))
    system = [{"type": "text", "text": "You are careful. " * 200, "cache_control": {"type": "ephemeral"}}]
    follow_up = [
        *HELLO,
        {"role": "assistant", "content": "One."},
        {
            "role": "user",
            "content": [{"type": "text", "text": "More detail, please. " * 50, "cache_control": {"type": "ephemeral"}}],
        },
    ]
    with sync_client(server) as client:
        first = client.messages.create(model=MODEL, max_tokens=5, messages=HELLO, system=system).usage
        second = client.messages.create(model=MODEL, max_tokens=5, messages=HELLO, system=system).usage
        third = client.messages.create(model=MODEL, max_tokens=5, messages=follow_up, system=system).usage

    assert first.cache_creation_input_tokens > 0 and first.cache_read_input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0
    assert third.cache_read_input_tokens == first.cache_creation_input_tokens
    assert third.cache_creation_input_tokens > 0, "the longer prefix up to the new breakpoint is written"


def test_streamed_usage_reports_cache_reads_in_message_start(serve):
    server = serve(ScriptedScenario([text_turn("One."), text_turn("Two.")]))
    tools = [
        {
            "name": "run_command",
            "description": "Runs a command. " * 100,
            "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
            "cache_control": {"type": "ephemeral"},
        }
    ]
    with sync_client(server) as client:
        for _ in range(2):
            with client.messages.stream(model=MODEL, max_tokens=5, messages=HELLO, tools=tools) as stream:
                usage = stream.get_final_message().usage
    assert usage.cache_read_input_tokens > 0
    assert usage.cache_creation_input_tokens == 0


def test_count_tokens_estimates_the_prompt(serve):
    server = serve(ScriptedScenario([]))
    with sync_client(server) as client:
        counted = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "x" * 400}])
    assert 100 <= counted.input_tokens <= 110


def test_stopping_the_server_cuts_a_stream_in_flight(serve):
    long_text = "word " * 400
    server = serve(ScriptedScenario([text_turn(long_text)]), chunk_delay=0.01)
    received = []
    with sync_client(server) as client, pytest.raises((httpx2.TransportError, anthropic.APIConnectionError)) as raised:
        with client.messages.stream(model=MODEL, max_tokens=5, messages=HELLO) as stream:
            for text in stream.text_stream:
                received.append(text)
                if len(received) == 2:
                    server.stop()
    assert 2 <= len(received) < 200
    assert isinstance(raised.value, httpx2.TransportError) or isinstance(raised.value.__cause__, httpx2.TransportError)


def test_raw_stream_events_come_in_the_real_api_order(serve):
    turn = tool_turn(text_block("Looking."), tool_use_block("run_command", {"command": "ls"}))
    server = serve(ScriptedScenario([turn]))
    with sync_client(server) as client:
        stream = client.messages.create(model=MODEL, max_tokens=64, messages=HELLO, stream=True)
        with stream:
            events = [event for event in stream]

    kinds = [event.type if event.type != "content_block_delta" else event.delta.type for event in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds[1:-2] == [
        "content_block_start",
        "text_delta",
        "content_block_stop",
        "content_block_start",
        *["input_json_delta"] * (len(kinds) - 8),
        "content_block_stop",
    ]
    assert events[0].message.stop_reason is None and events[0].message.content == []
    assert events[-2].delta.stop_reason == "tool_use"
    assert events[4].content_block.input == {}, "a tool_use block starts empty; its input comes in deltas"


def test_a_client_that_walks_away_mid_stream_leaves_the_server_quiet_and_threadless(serve, capfd):
    server = serve(ScriptedScenario([text_turn("word " * 400), text_turn("Still here.")]), chunk_delay=0.001)
    with sync_client(server) as client:
        with client.messages.stream(model=MODEL, max_tokens=5, messages=HELLO) as stream:
            next(iter(stream.text_stream))
        # The next request works although the stand-in was cut off mid-stream.
        message = client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
    server.stop()

    assert message.content[0].text == "Still here."
    assert "Traceback" not in capfd.readouterr().err
