"""What a failed Messages API call means to a person (one sentence) and to the runner (was it cut mid-message, did the
SDK already retry it). No Qt here."""

from __future__ import annotations

import anthropic
import httpx2


def stream_cut_mid_message(err: Exception) -> bool:
    """An `error` event inside a 200 response, or the body cut off after it began. Newer SDKs (anthropic >= 2) wrap the
    transport's error of a cut body in APIConnectionError; older ones let httpx's error through."""
    if isinstance(err, anthropic.APIStatusError):
        return err.status_code == 200
    if isinstance(err, anthropic.APITimeoutError):
        return False
    cut_body = (httpx2.RemoteProtocolError, httpx2.ReadError)
    if isinstance(err, httpx2.TransportError):
        return isinstance(err, cut_body)
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, cut_body):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def sdk_retried(err: Exception) -> bool:
    """Whether the SDK retried the request before giving up with ``err`` (the statuses and failures it retries)."""
    if isinstance(err, anthropic.APIStatusError):
        return err.status_code in (408, 409, 429) or err.status_code >= 500
    return isinstance(err, anthropic.APIConnectionError)


def describe_api_error(err: Exception) -> str:
    if isinstance(err, httpx2.TransportError):
        return f"The connection to the API broke off ({type(err).__name__})."
    if isinstance(err, anthropic.APIConnectionError) and stream_cut_mid_message(err):
        cut = err.__cause__ or err.__context__
        return f"The connection to the API broke off ({type(cut).__name__ if cut else 'cut mid-message'})."
    if isinstance(err, anthropic.AuthenticationError):
        return "The API key was refused (401). Check it in Settings."
    if isinstance(err, anthropic.PermissionDeniedError):
        return "The API key may not use this model (403)."
    if isinstance(err, anthropic.NotFoundError):
        return "The model or endpoint was not found (404). Pick another model in Settings."
    if isinstance(err, anthropic.RateLimitError):
        return "Rate limited by the API (429)."
    if isinstance(err, anthropic.APIStatusError) and err.status_code == 529:
        return "The API is overloaded (529)."
    if isinstance(err, anthropic.APIStatusError):
        body = err.body if isinstance(err.body, dict) else {}
        detail = (body.get("error") or {}).get("message") if isinstance(body.get("error"), dict) else None
        status = "stream error" if err.status_code == 200 else f"HTTP {err.status_code}"
        return f"The API answered with an error ({status}): {detail or err.message}."
    if isinstance(err, anthropic.APITimeoutError):
        return "The API did not answer in time."
    if isinstance(err, anthropic.APIConnectionError):
        return "Could not reach the API (connection failed or dropped)."
    return f"API error: {err}"
