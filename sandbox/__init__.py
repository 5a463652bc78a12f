"""A faithful local stand-in for the Zimun booking API (shared/zimun-api.md); see README.md.

Public API: `create_app(config)` (a Starlette app), `serve_sandbox(config)` (uvicorn on
127.0.0.1 in a thread, for tests), `SandboxConfig`, `ClientConfig`; `python -m sandbox` serves it.
"""

from sandbox.config import ClientConfig, SandboxConfig

__all__ = ["ClientConfig", "SandboxConfig"]
