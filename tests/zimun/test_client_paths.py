"""Ids go into URL paths only when they are plain ids: what the API or the database hands the
client is not trusted to be one."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.config.settings import Dialect
from bot.zimun import InvalidResponse, ZimunClient
from tests.zimun import loopback


@pytest.mark.parametrize("bad_id", ["..", ".", "a/b", "", "x" * 129, "h 1", "é"])
async def test_ids_outside_the_safe_alphabet_never_reach_a_url_path(bad_id: str) -> None:
    """An id from the API (or the database) goes into a path only when it is a plain id: a
    hold id of ".." must not turn DELETE /appointments/hold/{id} into DELETE /appointments."""
    seen: list[str] = []

    async def anything(request: Request) -> Response:
        seen.append(f"{request.method} {request.url.path}")
        return JSONResponse({"items": []})

    app = loopback.app(Route("/api/v1/{rest:path}", anything, methods=["GET", "DELETE", "PATCH"]))
    with loopback.serve(app) as server:
        async with ZimunClient(
            base_url=server.base_url,
            token_url=server.token_url,
            client_id="c",
            client_secret="s",
            dialect=Dialect.PATCH,
            max_retries=0,
        ) as client:
            with pytest.raises(InvalidResponse):
                await client.release_hold(bad_id)
            with pytest.raises(InvalidResponse):
                await client.get_appointment(bad_id)
            with pytest.raises(InvalidResponse):
                await client.cancel(bad_id)
            await client.release_hold("h_9f.2~x-Y")  # a plain id goes through
    assert seen == ["DELETE /api/v1/appointments/hold/h_9f.2~x-Y"]
