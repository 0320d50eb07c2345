"""The product behind a job as UCloud resolves it, and what its provider supports.

Every product is the documented example machine (1 vCPU, 2 GiB, 1,000,000 credits a unit) on a provider that
supports everything a container backend can.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MACHINE", "resolved_product", "support"]

JsonObject = dict[str, Any]

MACHINE: JsonObject = {"pricePerUnit": 1_000_000, "cpu": 1, "memoryInGigs": 2, "gpu": 0}


def resolved_product(reference: JsonObject) -> JsonObject:
    """The Product.Compute that a ProductReference names."""
    return {
        "name": reference["id"],
        "pricePerUnit": MACHINE["pricePerUnit"],
        "category": {"name": reference["category"], "provider": reference["provider"]},
        "description": f"{reference['id']} on {reference['provider']}",
        "priority": 0,
        "cpu": MACHINE["cpu"],
        "memoryInGigs": MACHINE["memoryInGigs"],
        "gpu": MACHINE["gpu"],
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


def support(reference: JsonObject) -> JsonObject:
    """The ComputeSupport of the product: every feature of the docker backend."""
    docker = dict.fromkeys(("enabled", "web", "vnc", "logs", "terminal", "peers", "timeExtension",
                            "utilization"), True)
    return {"product": reference, "docker": docker, "virtualMachine": None, "native": None, "maintenance": None}
