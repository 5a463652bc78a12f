"""Locations and services: the seeded demo organization and pagination."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.conftest import Api, assert_problem


def all_pages(api: Api, path: str, page_size: int) -> list[list[dict[str, Any]]]:
    pages, token = [], None
    while True:
        params: dict[str, Any] = {"page_size": page_size}
        if token:
            params["page_token"] = token
        response = api.get(path, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        token = body["next_page_token"]
        if not token:
            return pages


def test_five_branches_in_four_timezones(api: Api) -> None:
    body = api.get("/locations").json()
    assert body["next_page_token"] is None
    zones = {loc["id"]: loc["timezone"] for loc in body["items"]}
    assert zones == {
        "loc_madrid": "Europe/Madrid",
        "loc_milan": "Europe/Rome",
        "loc_berlin": "Europe/Berlin",
        "loc_madrid_24h": "Europe/Madrid",
        "loc_cdmx": "America/Mexico_City",
    }
    assert list(zones)[:3] == ["loc_madrid", "loc_milan", "loc_berlin"]  # the first stay first
    assert all(loc["active"] and loc["name"] and loc["address"] for loc in body["items"])


def test_services_page_by_page(api: Api) -> None:
    pages = all_pages(api, "/services", 2)
    assert [len(p) for p in pages] == [2, 2, 2]
    services = [s for page in pages for s in page]
    assert len({s["id"] for s in services}) == 6
    assert sorted(s["duration_minutes"] for s in services) == [15, 20, 30, 45, 60, 90]
    everywhere = [s for s in services if not s["location_ids"]]
    assert [s["id"] for s in everywhere] == ["svc_checkup"]
    only_some = [s for s in services if 0 < len(s["location_ids"]) < 3]
    assert {s["id"] for s in only_some} == {
        "svc_cleaning",
        "svc_physio",
        "svc_whitening",
        "svc_urgent",
    }


def test_default_page_holds_everything(api: Api) -> None:
    body = api.get("/services").json()
    assert len(body["items"]) == 6
    assert body["next_page_token"] is None


def test_services_filtered_by_location(api: Api) -> None:
    ids = {s["id"] for s in api.get("/services", location_id="loc_berlin").json()["items"]}
    assert ids == {"svc_checkup", "svc_consultation", "svc_physio"}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"page_size": 0}, "invalid_request"),
        ({"page_size": "many"}, "invalid_request"),
        ({"page_token": "!!!"}, "invalid_page_token"),
    ],
)
def test_bad_paging_is_400(api: Api, params: dict[str, Any], code: str) -> None:
    assert_problem(api.get("/services", **params), 400, code)


def test_unknown_path_is_a_plain_404_without_a_zimun_code(api: Api) -> None:
    response = api.get("/nothing-here")
    assert response.status_code == 404
    assert "code" not in response.json()
