"""`python -m sandbox --port 8081`: serve the sandbox with uvicorn (see sandbox/README.md)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from sandbox.config import BEYOND_EMPTY, BEYOND_FORMS, DIALECTS, SandboxConfig
from sandbox.seed import SeedError


def _dialects(value: str) -> frozenset[str]:
    chosen = frozenset(v.strip() for v in value.split(",") if v.strip())
    if not chosen or chosen - DIALECTS:
        raise argparse.ArgumentTypeError(f"choose from {','.join(sorted(DIALECTS))}")
    return chosen


def _rate(value: str) -> float:
    rate = float(value)
    if not 0 <= rate <= 1:
        raise argparse.ArgumentTypeError("a rate is between 0 and 1")
    return rate


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a timezone offset, e.g. 2026-11-23T09:00:00+01:00")
    return moment


def parse_args(argv: list[str] | None = None) -> tuple[SandboxConfig, str, int]:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--seed", type=Path, help="seed JSON file (default: sandbox/seed.json)")
    parser.add_argument("--hold-ttl", type=float, default=600, help="seconds (default 600)")
    parser.add_argument("--token-ttl", type=float, default=3600, help="seconds (default 3600)")
    parser.add_argument(
        "--dialects",
        type=_dialects,
        default=DIALECTS,
        help="reschedule/cancel forms offered: appointment_id,booking_id,patch (default all)",
    )
    parser.add_argument(
        "--open-days",
        type=int,
        help="the business takes bookings this many days ahead, today counted (default: no limit)",
    )
    parser.add_argument(
        "--beyond",
        choices=sorted(BEYOND_FORMS),
        default=BEYOND_EMPTY,
        help="days past --open-days: listed empty (default), or absent (a day query: 400)",
    )
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--error-rate", type=_rate, default=0.0, help="share of 503 answers")
    parser.add_argument("--rate-limit-rate", type=_rate, default=0.0, help="share of 429 answers")
    parser.add_argument("--retry-after", type=int, default=1, help="Retry-After of 429s")
    parser.add_argument("--now", type=_moment, help="start the clock at this instant")
    parser.add_argument(
        "--clients",
        type=int,
        default=0,
        metavar="N",
        help="also accept N numbered clients, for many businesses against one sandbox: "
        "<client-prefix>-1 / <secret-prefix>-1 ... (default 0)",
    )
    parser.add_argument("--client-prefix", default="business", help="(default business)")
    parser.add_argument("--secret-prefix", default="secret", help="(default secret)")
    parser.add_argument(
        "--no-control-api",
        dest="control_api",
        action="store_false",
        help="do not serve the unauthenticated /_sandbox control API",
    )
    args = parser.parse_args(argv)
    config = SandboxConfig(
        seed_path=args.seed,
        hold_ttl=args.hold_ttl,
        token_ttl=args.token_ttl,
        dialects=args.dialects,
        open_days=args.open_days,
        beyond=args.beyond,
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        rate_limit_rate=args.rate_limit_rate,
        retry_after=args.retry_after,
        now=args.now,
        control_api=args.control_api,
        extra_clients=args.clients,
        client_prefix=args.client_prefix,
        secret_prefix=args.secret_prefix,
    )
    return config, args.host, args.port


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from sandbox.app import create_app

    try:
        config, host, port = parse_args(argv)
        app = create_app(config)
    except (SeedError, ValueError) as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    client = config.client
    numbered = (
        f"; {config.extra_clients} numbered clients {config.client_prefix}-1 / "
        f"{config.secret_prefix}-1 ... {config.client_prefix}-{config.extra_clients}"
        if config.extra_clients
        else ""
    )
    print(
        f"Zimun sandbox: http://{host}:{port}/api/v1 (token: http://{host}:{port}/oauth/token, "
        f"client_id {client.client_id}{numbered}; dialects {','.join(sorted(config.dialects))})",
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="info", lifespan="off")
    return 0


if __name__ == "__main__":
    sys.exit(main())
