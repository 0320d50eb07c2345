"""Behaviour profiles: what each event does to a job's fields, and how a job is rendered as JSON.

``docs`` follows UCloud's documented examples exactly; ``ucloud`` follows what the real service does
(REFERENCE.md §4 and §6). A profile is a policy object: another provider's behaviour is one more subclass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mockserver.lifecycle import Job, Update

__all__ = ["PROFILES", "DocsProfile", "Flags", "Profile", "UcloudProfile", "duration", "profile_named"]

Flags = Mapping[str, Any]
JsonObject = dict[str, Any]

_OWNER_PERMISSIONS = ["ADMIN", "READ", "EDIT"]


def duration(ms: int) -> JsonObject:
    """A SimpleDuration from milliseconds (UCloud's ``SimpleDuration.fromMillis``)."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return {"hours": hours, "minutes": minutes, "seconds": rest // 1000}


class Profile:
    """The behaviour shared by every profile; subclasses override what differs."""

    name = "base"
    #: Whether the provider supports ``jobs.extend``; a provider that does not answers 400.
    supports_extension = True

    # ------------------------------------------------------------------ events
    def on_created(self, job: Job, now: int) -> Job:
        """Fields set when the job is created."""
        return job

    def on_running(self, job: Job, now: int) -> Job:
        """Fields set when the job (re)enters RUNNING."""
        return job

    def on_extended(self, job: Job, ms: int, now: int) -> Job:
        """The job after its allocation was extended by ``ms``."""
        return job

    def on_ended(self, job: Job, now: int) -> Job:
        """Fields set when the job reaches a final state."""
        return job

    # ------------------------------------------------------------------ rendering
    def render(self, job: Job, flags: Flags, viewer: str) -> JsonObject:
        """The job as the API returns it to ``viewer``."""
        raise NotImplementedError

    def _specification(self, job: Job, parameters: Any, resources: Any) -> JsonObject:
        """The fields of JobSpecification that every era of the API has, in UCloud's order."""
        spec = job.specification
        return {
            "application": self._application(job),
            "product": self._product(job),
            "name": spec.get("name"),
            "replicas": self._replicas(job),
            "allowDuplicateJob": bool(spec.get("allowDuplicateJob") or False),
            "parameters": parameters,
            "resources": resources,
            "timeAllocation": self._allocation(job),
        }

    def _application(self, job: Job) -> JsonObject:
        application = job.specification["application"]
        return {"name": application["name"], "version": application["version"]}

    def _product(self, job: Job) -> JsonObject:
        product = job.specification["product"]
        return {"id": product["id"], "category": product["category"], "provider": product["provider"]}

    def _allocation(self, job: Job) -> JsonObject | None:
        return None if job.allocation_ms is None else duration(job.allocation_ms)

    def _replicas(self, job: Job) -> int:
        replicas = job.specification.get("replicas")
        return 1 if replicas is None else int(replicas)


class DocsProfile(Profile):
    """The documented examples, exactly: the shapes and semantics of the seed flow.

    expiresAt is createdAt + timeAllocation; extend moves expiresAt and leaves timeAllocation alone; terminate
    clears expiresAt; startedAt stays null; updates are always returned and include flags are not honoured;
    ``permissions`` and ``output`` are null; ``acl`` is null and ``billing`` is ``{}`` as in the seed.
    """

    name = "docs"

    def on_created(self, job: Job, now: int) -> Job:
        """expiresAt = createdAt + timeAllocation."""
        if job.allocation_ms is None:
            return job
        return replace(job, expires_at=job.created_at + job.allocation_ms)

    def on_extended(self, job: Job, ms: int, now: int) -> Job:
        """expiresAt moves by ``ms``; the allocation is left as it is and no update is recorded."""
        if job.expires_at is None:
            return job
        return replace(job, expires_at=job.expires_at + ms)

    def on_ended(self, job: Job, now: int) -> Job:
        """A job that has ended has no expiresAt."""
        return replace(job, expires_at=None)

    def render(self, job: Job, flags: Flags, viewer: str) -> JsonObject:
        """The seed's shape, in the seed's key order."""
        spec = job.specification
        return {
            "id": job.id,
            "owner": {"createdBy": job.created_by, "project": job.project},
            "updates": [_update_2021(update) for update in job.updates],
            "specification": self._specification(job, spec.get("parameters"), spec.get("resources")),
            "status": {
                "state": job.state,
                "jobParametersJson": None,
                "startedAt": None,
                "expiresAt": job.expires_at,
                "resolvedApplication": None,
                "resolvedSupport": None,
                "resolvedProduct": None,
            },
            "createdAt": job.created_at,
            "output": None,
            "permissions": None,
            "acl": None,
            "billing": {},
        }


class UcloudProfile(Profile):
    """What the real service does.

    startedAt is set on every move to RUNNING and expiresAt = startedAt + timeAllocation, kept after the job
    ends; extend grows timeAllocation and appends an update carrying the new allocation; updates are returned
    only with includeUpdates=true; permissions are filled for the owner; every include flag is honoured.
    """

    name = "ucloud"

    def on_running(self, job: Job, now: int) -> Job:
        """startedAt = now; expiresAt = startedAt + timeAllocation."""
        expires = None if job.allocation_ms is None else now + job.allocation_ms
        return replace(job, started_at=now, expires_at=expires)

    def on_extended(self, job: Job, ms: int, now: int) -> Job:
        """The allocation grows by ``ms`` (the provider's update says so) and expiresAt follows."""
        allocation = (job.allocation_ms or 0) + ms
        expires = None if job.expires_at is None else job.expires_at + ms
        return job.with_update(Update(timestamp=now, new_time_allocation=allocation),
                               allocation_ms=allocation, expires_at=expires)

    def render(self, job: Job, flags: Flags, viewer: str) -> JsonObject:
        """The shape of UCloud's 2024 API, honouring the include flags."""
        spec = job.specification
        with_parameters = flags.get("includeParameters") is True
        with_support = flags.get("includeSupport") is True
        with_product = flags.get("includeProduct") is True or with_support
        product = _resolved_product(self._product(job)) if with_product else None
        return {
            "id": job.id,
            "owner": {"createdBy": job.created_by, "project": job.project},
            "updates": [_update_2024(u) for u in job.updates] if flags.get("includeUpdates") is True else [],
            "specification": {
                **self._specification(job, (spec.get("parameters") or {}) if with_parameters else None,
                                      (spec.get("resources") or []) if with_parameters else None),
                "openedFile": spec.get("openedFile"),
                "restartOnExit": spec.get("restartOnExit"),
                "sshEnabled": spec.get("sshEnabled"),
            },
            "status": {
                "state": job.state,
                "jobParametersJson": self._exported(job) if with_parameters else None,
                "startedAt": job.started_at,
                "expiresAt": job.expires_at,
                "resolvedApplication": self._resolved_application(job)
                if flags.get("includeApplication") is True else None,
                "resolvedSupport": {"product": product, "support": _support(self._product(job))}
                if with_support else None,
                "resolvedProduct": product,
                "allowRestart": False,
            },
            "createdAt": job.created_at,
            "output": {"outputFolder": None},
            "permissions": {
                "myself": list(_OWNER_PERMISSIONS) if viewer == job.created_by else ["READ", "EDIT"],
                "others": self._others(job) if flags.get("includeOthers") is True else None,
            },
            "providerGeneratedId": None,
        }

    def _others(self, job: Job) -> list[JsonObject]:
        # In a project, UCloud adds the creator to the job's ACL with READ and EDIT; a personal job has none.
        if job.project is None:
            return []
        return [{"entity": {"type": "user", "username": job.created_by}, "permissions": ["READ", "EDIT"]}]

    def _resolved_application(self, job: Job) -> JsonObject:
        application = self._application(job)
        return {
            "metadata": {**application, "authors": [], "title": application["name"], "description": "",
                         "website": None, "public": True, "flavorName": None, "group": None,
                         "createdAt": job.created_at},
            "invocation": {"tool": {**application, "tool": None}, "invocation": [], "parameters": [],
                           "outputFileGlobs": ["*"], "applicationType": "BATCH"},
        }

    def _exported(self, job: Job) -> JsonObject:
        spec = job.specification
        return {
            "siteVersion": 3,
            "request": {
                "application": self._application(job),
                "product": self._product(job),
                "name": spec.get("name"),
                "replicas": self._replicas(job),
                "parameters": spec.get("parameters") or {},
                "resources": spec.get("resources") or [],
                "timeAllocation": self._allocation(job),
                "resolvedProduct": None,
                "resolvedApplication": None,
                "resolvedSupport": None,
                "allowDuplicateJob": bool(spec.get("allowDuplicateJob") or False),
                "sshEnabled": bool(spec.get("sshEnabled") or False),
            },
            "resolvedResources": {"ingress": {}},
            "machineType": {"cpu": _MACHINE["cpu"], "memoryInGigs": _MACHINE["memoryInGigs"]},
        }


# The machine behind every product: the documented example product (1 vCPU, 2 GiB, 1,000,000 credits a unit).
_MACHINE: JsonObject = {"pricePerUnit": 1_000_000, "cpu": 1, "memoryInGigs": 2, "gpu": 0}


def _resolved_product(reference: JsonObject) -> JsonObject:
    return {
        "name": reference["id"],
        "pricePerUnit": _MACHINE["pricePerUnit"],
        "category": {"name": reference["category"], "provider": reference["provider"]},
        "description": f"{reference['id']} on {reference['provider']}",
        "priority": 0,
        "cpu": _MACHINE["cpu"],
        "memoryInGigs": _MACHINE["memoryInGigs"],
        "gpu": _MACHINE["gpu"],
        "cpuModel": None,
        "memoryModel": None,
        "gpuModel": None,
        "version": 1,
        "freeToUse": False,
        "allowAllocationRequestsFrom": "ALL",
        "unitOfPrice": "CREDITS_PER_MINUTE",
        "chargeType": "ABSOLUTE",
        "hiddenInGrantApplications": False,
        "productType": "COMPUTE",
        "balance": None,
        "id": reference["id"],
        "maxUsableBalance": None,
    }


def _support(reference: JsonObject) -> JsonObject:
    docker = dict.fromkeys(("enabled", "web", "vnc", "logs", "terminal", "peers", "timeExtension",
                            "utilization"), True)
    return {"product": reference, "docker": docker, "virtualMachine": None, "native": None, "maintenance": None}


def _update_2021(update: Update) -> JsonObject:
    return {"state": update.state, "outputFolder": None, "status": update.status, "expectedState": None,
            "expectedDifferentState": None, "timestamp": update.timestamp}


def _update_2024(update: Update) -> JsonObject:
    return {"state": update.state, "outputFolder": None, "status": update.status, "expectedState": None,
            "expectedDifferentState": None, "newTimeAllocation": update.new_time_allocation,
            "allowRestart": None, "newMounts": None, "timestamp": update.timestamp}


PROFILES: dict[str, type[Profile]] = {"docs": DocsProfile, "ucloud": UcloudProfile}


def profile_named(name: str) -> Profile:
    """A fresh profile object by name."""
    try:
        return PROFILES[name]()
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; known profiles: {', '.join(PROFILES)}") from None
