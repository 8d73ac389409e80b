"""Signoff's public API for agents run from Python: ``signoff_can_use_tool`` for the Claude Agent SDK."""

from app.services.adapters.agent_sdk import signoff_can_use_tool

__all__ = ["signoff_can_use_tool"]
