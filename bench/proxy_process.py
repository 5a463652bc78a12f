"""`python -m bench.proxy_process PORT BACKEND...`: tests/cluster/proxy.py's round-robin
stand-in for the load balancer, in a process of its own (bench/cluster_procs.py). In a thread
of the driver it shared one interpreter lock with the customers, the fake Bot API and the
webhook deliveries, and its CPU was theirs: the proxy then slowed every update that went
through it (two processes: 0.44x one's updates a second, one process being posted to
directly), and its cost could not be told apart. Here its CPU is its own (/proc)."""

from __future__ import annotations

import sys

import uvicorn

from tests.cluster.proxy import RoundRobin


def main(argv: list[str]) -> None:
    port, backends = int(argv[0]), argv[1:]
    config = uvicorn.Config(
        RoundRobin(backends).app(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        access_log=False,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main(sys.argv[1:])
