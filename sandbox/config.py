"""The sandbox's configuration: one dataclass, shared by the CLI, create_app and the tests.

The shape is stable: other test suites build it with keyword arguments or
`dataclasses.replace(config, ...)`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

SCOPES: frozenset[str] = frozenset(
    {"org:read", "availability:read", "appointments:read", "appointments:write"}
)

# The three documented reschedule/cancel forms (shared/zimun-api.md, "Reschedule and cancel").
DIALECT_APPOINTMENT_ID = "appointment_id"  # POST /appointments/{reschedule,cancel} {appointment_id}
DIALECT_BOOKING_ID = "booking_id"  # the same paths with {booking_id}
DIALECT_PATCH = "patch"  # PATCH /appointments/{id} {appointment_time} | {status: cancelled}
DIALECTS: frozenset[str] = frozenset({DIALECT_APPOINTMENT_ID, DIALECT_BOOKING_ID, DIALECT_PATCH})

DEFAULT_SEED_PATH = Path(__file__).with_name("seed.json")

# How availability answers days past the business's booking window (`open_days`); the
# contract does not say, so both plausible forms exist (sandbox/README.md).
BEYOND_EMPTY = "empty"  # listed like any day, with no slots; a day query answers the same
BEYOND_ABSENT = "absent"  # a range stops at the last open day; a day query: 400 not_bookable
BEYOND_FORMS: frozenset[str] = frozenset({BEYOND_EMPTY, BEYOND_ABSENT})


@dataclass(frozen=True)
class ClientConfig:
    """One OAuth2 client the token endpoint knows, with the scopes it may be granted."""

    client_id: str
    client_secret: str
    scopes: frozenset[str] = SCOPES


DEMO_CLIENT = ClientConfig("demo-client", "demo-secret")
MAX_NUMBERED_CLIENTS = 100_000


def numbered_clients(
    count: int, *, id_prefix: str = "business", secret_prefix: str = "secret"
) -> tuple[ClientConfig, ...]:
    """`count` clients with every scope, numbered from 1: business-1 / secret-1, business-2 /
    secret-2... One sandbox then serves the credentials of many businesses (tests and `make
    bench` run hundreds of bots against it), and another process can name any of them."""
    return tuple(
        ClientConfig(f"{id_prefix}-{n}", f"{secret_prefix}-{n}") for n in range(1, count + 1)
    )


@dataclass(frozen=True, kw_only=True)
class SandboxConfig:
    # Data: `seed` (a parsed mapping) wins over `seed_path`; both None: sandbox/seed.json.
    seed_path: Path | str | None = None
    seed: dict[str, Any] | None = None

    # Lifetimes, in seconds of the sandbox clock.
    hold_ttl: float = 600
    token_ttl: float = 3600
    token_expires_in: bool = True  # False: the token response omits expires_in (contract allows)
    idempotency_ttl: float = 24 * 3600

    # Which reschedule/cancel forms exist (see sandbox/README.md for how absent ones answer).
    dialects: frozenset[str] = DIALECTS

    clients: tuple[ClientConfig, ...] = (DEMO_CLIENT,)
    # Many businesses' credentials besides `clients`: numbered_clients(extra_clients, ...).
    extra_clients: int = 0
    client_prefix: str = "business"
    secret_prefix: str = "secret"

    # The business opens bookings this many days ahead, today (branch time) counted; None: no
    # limit but the range cap. Holds past it: 400 not_bookable. `beyond`: one of BEYOND_FORMS.
    open_days: int | None = None
    beyond: str = BEYOND_EMPTY

    # Clock: None = the real time; `now` starts the clock there; `freeze_clock` stops it.
    now: datetime | None = None
    freeze_clock: bool = False

    # Fault knobs, off by default; also changeable at runtime through `server.faults`.
    latency_ms: int = 0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: int = 1
    fault_seed: int | None = None

    # The unauthenticated control API under /_sandbox (sandbox/control.py); a development aid.
    control_api: bool = True

    default_page_size: int = 50
    max_page_size: int = 200

    def __post_init__(self) -> None:
        object.__setattr__(self, "dialects", frozenset(self.dialects))
        unknown = self.dialects - DIALECTS
        if unknown or not self.dialects:
            raise ValueError(
                f"dialects must be a non-empty subset of {sorted(DIALECTS)}, "
                f"got {sorted(self.dialects)}"
            )
        if self.beyond not in BEYOND_FORMS:
            raise ValueError(f"beyond must be one of {sorted(BEYOND_FORMS)}, got {self.beyond!r}")
        if self.open_days is not None and self.open_days < 1:
            raise ValueError(f"open_days must be at least 1, got {self.open_days}")
        if not self.clients:
            raise ValueError("at least one client is needed")
        if not 0 <= self.extra_clients <= MAX_NUMBERED_CLIENTS:
            raise ValueError(
                f"extra_clients must be 0 to {MAX_NUMBERED_CLIENTS}, got {self.extra_clients}"
            )
        ids = [c.client_id for c in self.all_clients]
        if len(set(ids)) != len(ids):
            raise ValueError("two clients have the same client_id")

    @property
    def all_clients(self) -> tuple[ClientConfig, ...]:
        """`clients`, then the numbered ones (`extra_clients`): every client the token endpoint
        knows."""
        return self.clients + numbered_clients(
            self.extra_clients, id_prefix=self.client_prefix, secret_prefix=self.secret_prefix
        )

    @property
    def client(self) -> ClientConfig:
        """The first (default) client: what tests and the demo log in with."""
        return self.clients[0]

    def replace(self, **changes: Any) -> SandboxConfig:
        return replace(self, **changes)


__all__ = [
    "BEYOND_ABSENT",
    "BEYOND_EMPTY",
    "BEYOND_FORMS",
    "DEFAULT_SEED_PATH",
    "DEMO_CLIENT",
    "DIALECTS",
    "DIALECT_APPOINTMENT_ID",
    "DIALECT_BOOKING_ID",
    "DIALECT_PATCH",
    "MAX_NUMBERED_CLIENTS",
    "SCOPES",
    "ClientConfig",
    "SandboxConfig",
    "numbered_clients",
]
