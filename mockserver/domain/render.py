"""A job as JSON, in the layouts UCloud's documentation and service have used; computed, never stored.

The 2021 layout is the seed's (``acl``, ``billing``, no ``allowRestart``); the 2024 layout is the one of the
current type pages and the service. Which layout and which include flags apply is the profile's choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.domain.access import acl_json
from mockserver.domain.jobs import Job, LogChunk, Update
from mockserver.domain.products import Catalogue

__all__ = ["Flags", "JsonObject", "Viewer", "documented_2024", "duration", "job_2021", "job_2024", "log_chunk",
           "update_2021", "update_2024"]

Flags = Mapping[str, Any]
JsonObject = dict[str, Any]



@dataclass(frozen=True)
class Viewer:
    """Who looks at a job and what the service would tell them: their permissions, the product catalogue."""

    permissions: tuple[str, ...]
    catalogue: Catalogue


def duration(ms: int) -> JsonObject:
    """A SimpleDuration from milliseconds (UCloud's ``SimpleDuration.fromMillis``)."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return {"hours": hours, "minutes": minutes, "seconds": rest // 1000}


def job_2021(job: Job) -> JsonObject:
    """The seed's shape, in the seed's key order; the include flags are not honoured."""
    spec = job.specification
    return {
        "id": job.id,
        "owner": _owner(job),
        "updates": [update_2021(update) for update in job.updates],
        "specification": _specification(job, spec.get("parameters"), spec.get("resources")),
        "status": _documented_status(job),
        "createdAt": job.created_at,
        "output": None,
        "permissions": None,
        "acl": None,
        "billing": {},
    }


def _documented_status(job: Job) -> JsonObject:
    """The JobStatus of the documented examples: only the state and expiresAt are ever filled."""
    return {"state": job.state, "jobParametersJson": None, "startedAt": None, "expiresAt": job.expires_at,
            "resolvedApplication": None, "resolvedSupport": None, "resolvedProduct": None}


def documented_2024(job: Job) -> JsonObject:
    """Today's documented shape (reference/jobs_extendAndCancel.md): the 2024 fields, the examples' values.

    As in the 2021 rendering, the include flags are not honoured, and startedAt, output and permissions are
    null; the specification echoes the fields the 2024 pages add.
    """
    spec = job.specification
    return {
        "id": job.id,
        "owner": _owner(job),
        "updates": [update_2024(update) for update in job.updates],
        "specification": {
            **_specification(job, spec.get("parameters"), spec.get("resources")),
            **_newer_specification(job),
        },
        "status": {**_documented_status(job), "allowRestart": False},
        "createdAt": job.created_at,
        "output": None,
        "permissions": None,
    }


def job_2024(job: Job, flags: Flags, viewer: Viewer) -> JsonObject:
    """The shape of UCloud's 2024 API as the service fills it, honouring the include flags."""
    spec = job.specification
    catalogue = viewer.catalogue
    with_parameters = flags.get("includeParameters") is True
    with_support = flags.get("includeSupport") is True
    product = catalogue.product(job.product) if flags.get("includeProduct") is True or with_support else None
    support = catalogue.support(job.product) if with_support else None
    return {
        "id": job.id,
        "owner": _owner(job),
        "updates": [update_2024(u) for u in job.updates] if flags.get("includeUpdates") is True else [],
        "specification": {
            **_specification(job, (spec.get("parameters") or {}) if with_parameters else None,
                             (spec.get("resources") or []) if with_parameters else None),
            **_newer_specification(job),
        },
        "status": {
            "state": job.state,
            "jobParametersJson": _exported(job, catalogue) if with_parameters else None,
            "startedAt": job.started_at,
            "expiresAt": job.expires_at,
            "resolvedApplication": _resolved_application(job) if flags.get("includeApplication") is True else None,
            "resolvedSupport": {"product": product, "support": support} if product and support else None,
            "resolvedProduct": product,
            "allowRestart": False,
        },
        "createdAt": job.created_at,
        "output": {"outputFolder": job.output_folder},
        "permissions": {
            "myself": list(viewer.permissions),
            "others": acl_json(job) if flags.get("includeOthers") is True else None,
        },
        "providerGeneratedId": None,
    }


def _owner(job: Job) -> JsonObject:
    return {"createdBy": job.created_by, "project": job.project}


def _specification(job: Job, parameters: Any, resources: Any) -> JsonObject:
    """The fields of JobSpecification that every era of the API has, in UCloud's order."""
    spec = job.specification
    return {
        "application": _application(job),
        "product": _product(job),
        "name": spec.get("name"),
        "replicas": _replicas(job),
        "allowDuplicateJob": bool(spec.get("allowDuplicateJob") or False),
        "parameters": parameters,
        "resources": resources,
        "timeAllocation": _allocation(job),
    }


def _newer_specification(job: Job) -> JsonObject:
    """The fields of JobSpecification that the 2024 documentation adds."""
    spec = job.specification
    return {"openedFile": spec.get("openedFile"), "restartOnExit": spec.get("restartOnExit"),
            "sshEnabled": spec.get("sshEnabled")}


def _application(job: Job) -> JsonObject:
    application = job.specification["application"]
    return {"name": application["name"], "version": application["version"]}


def _product(job: Job) -> JsonObject:
    product = job.specification["product"]
    return {"id": product["id"], "category": product["category"], "provider": product["provider"]}


def _allocation(job: Job) -> JsonObject | None:
    return None if job.allocation_ms is None else duration(job.allocation_ms)


def _replicas(job: Job) -> int:
    replicas = job.specification.get("replicas")
    return 1 if replicas is None else int(replicas)


def _resolved_application(job: Job) -> JsonObject:
    application = _application(job)
    return {
        "metadata": {**application, "authors": [], "title": application["name"], "description": "",
                     "website": None, "public": True, "flavorName": None, "group": None,
                     "createdAt": job.created_at},
        "invocation": {"tool": {**application, "tool": None}, "invocation": [], "parameters": [],
                       "outputFileGlobs": ["*"], "applicationType": "BATCH"},
    }


def _exported(job: Job, catalogue: Catalogue) -> JsonObject:
    spec = job.specification
    product = catalogue.product(job.product) or {}
    return {
        "siteVersion": 3,
        "request": {
            "application": _application(job),
            "product": _product(job),
            "name": spec.get("name"),
            "replicas": _replicas(job),
            "parameters": spec.get("parameters") or {},
            "resources": spec.get("resources") or [],
            "timeAllocation": _allocation(job),
            "resolvedProduct": None,
            "resolvedApplication": None,
            "resolvedSupport": None,
            "allowDuplicateJob": bool(spec.get("allowDuplicateJob") or False),
            "sshEnabled": bool(spec.get("sshEnabled") or False),
        },
        "resolvedResources": {"ingress": {}},
        "machineType": {"cpu": product.get("cpu", 0), "memoryInGigs": product.get("memoryInGigs", 0)},
    }


def log_chunk(chunk: LogChunk) -> JsonObject:
    """A JobsLog: what one rank wrote."""
    return {"rank": chunk.rank, "stdout": chunk.stdout, "stderr": chunk.stderr}


def update_2021(update: Update) -> JsonObject:
    """A JobUpdate in the seed's layout."""
    return {"state": update.state, "outputFolder": update.output_folder, "status": update.status, "expectedState": None,
            "expectedDifferentState": None, "timestamp": update.timestamp}


def update_2024(update: Update) -> JsonObject:
    """A JobUpdate in the layout of the 2024 documentation and the service."""
    return {"state": update.state, "outputFolder": update.output_folder, "status": update.status, "expectedState": None,
            "expectedDifferentState": None, "newTimeAllocation": update.new_time_allocation,
            "allowRestart": None, "newMounts": None, "timestamp": update.timestamp}
