"""Interactive sessions (web interface, VNC, terminal) and the utilization of a job's cluster.

Sessions are deterministic: their URLs, passwords and identifiers come from the scenario's templates, filled
in with the job, the rank and the session's number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from contracts.scenario import Cluster, Sessions
from mockserver.domain.jobs import Job
from mockserver.domain.products import Catalogue

__all__ = ["FEATURE_OF", "open_session", "utilization"]

JsonObject = dict[str, Any]

#: The ComputeSupport flag each session type needs.
FEATURE_OF = {"WEB": "web", "VNC": "vnc", "SHELL": "terminal"}

_GIB = 1024 ** 3


def open_session(job: Job, rank: int, session_type: str, templates: Sessions, number: int) -> JsonObject:
    """The OpenSessionWithProvider of a session on ``rank`` of ``job``."""

    def fill(template: str) -> str:
        return template.replace("{job}", job.id).replace("{rank}", str(rank)).replace("{n}", str(number))

    session: JsonObject
    if session_type == "WEB":
        session = {"type": "web", "jobId": job.id, "rank": rank, "redirectClientTo": fill(templates.web),
                   "domainOverride": None}
    elif session_type == "VNC":
        session = {"type": "vnc", "jobId": job.id, "rank": rank, "url": fill(templates.vnc),
                   "password": None if templates.password is None else fill(templates.password),
                   "domainOverride": None}
    else:
        session = {"type": "shell", "jobId": job.id, "rank": rank, "sessionIdentifier": fill(templates.shell),
                   "domainOverride": None}
    return {"providerDomain": templates.provider_domain, "providerId": job.product["provider"], "session": session}


def utilization(provider: str, jobs: Iterable[Job], catalogue: Catalogue, cluster: Cluster) -> JsonObject:
    """The capacity of ``provider``'s cluster, what its running jobs use, and its queue."""
    cpu = memory = running = pending = 0
    for job in jobs:
        if job.product["provider"] != provider:
            continue
        if job.state == "IN_QUEUE":
            pending += 1
        elif job.state == "RUNNING":
            running += 1
            offer: Mapping[str, Any] | None = catalogue.product(job.product)
            if offer is not None:
                cpu += offer["cpu"] * job.replicas
                memory += offer["memoryInGigs"] * job.replicas * _GIB
    return {
        "capacity": {"cpu": float(cluster.cpu), "memory": cluster.memory_in_gigs * _GIB},
        "usedCapacity": {"cpu": float(cpu), "memory": memory},
        "queueStatus": {"running": running, "pending": pending},
    }
