"""Slack app for newsroom staff: mentions, DMs, threads, the /ask command and the assistant
side panel, each answer with its checked sources. Entry points: `assistant slack` (cli.py)
and `build_app` (app.py)."""
