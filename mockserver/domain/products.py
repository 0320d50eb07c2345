"""The product catalogue: each compute product, as UCloud resolves it, and what its provider supports.

The catalogue comes from the scenario (the documentation's example products by default). A job's product must
be in it; a call a product's support lacks is refused. The mock has no application store from which to pick a
job's backend, so a feature counts as supported when any enabled backend of the product supports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from contracts.scenario import Offer

__all__ = ["BACKENDS", "Catalogue"]

JsonObject = dict[str, Any]

#: The backends of ComputeSupport and their flags, in UCloud's order.
BACKENDS: dict[str, tuple[str, ...]] = {
    "docker": ("enabled", "web", "vnc", "logs", "terminal", "peers", "timeExtension", "utilization"),
    "virtualMachine": ("enabled", "logs", "vnc", "terminal", "timeExtension", "suspension", "utilization"),
    "native": ("enabled", "logs", "vnc", "terminal", "timeExtension", "utilization", "web"),
}


def _key(reference: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(reference.get("id")), str(reference.get("category")), str(reference.get("provider")))


class Catalogue:
    """The products a scenario offers, by (id, category, provider)."""

    def __init__(self, offers: Iterable[Offer]) -> None:
        self._offers = {(offer.id, offer.category, offer.provider): offer for offer in offers}

    def offer(self, reference: Mapping[str, Any]) -> Offer | None:
        """The product a ProductReference names, if the catalogue has it."""
        return self._offers.get(_key(reference))

    def supports(self, reference: Mapping[str, Any], feature: str) -> bool:
        """Whether an enabled backend of the product supports ``feature`` (``web``, ``suspension``, ...)."""
        offer = self.offer(reference)
        if offer is None:
            return False
        return any(flags.get("enabled") is True and flags.get(feature) is True
                   for flags in offer.support.values() if flags)

    def product(self, reference: Mapping[str, Any]) -> JsonObject | None:
        """The Product.Compute of a reference (None when the catalogue lacks it)."""
        offer = self.offer(reference)
        return None if offer is None else _product(offer)

    def support(self, reference: Mapping[str, Any]) -> JsonObject | None:
        """The ComputeSupport of a reference, every flag present (None when the catalogue lacks it)."""
        offer = self.offer(reference)
        return None if offer is None else _support(offer)

    def by_provider(self) -> dict[str, list[JsonObject]]:
        """Every product with its support, by provider (``SupportByProvider.productsByProvider``)."""
        grouped: dict[str, list[JsonObject]] = {}
        for offer in self._offers.values():
            grouped.setdefault(offer.provider, []).append({"product": _product(offer), "support": _support(offer)})
        return grouped


def _product(offer: Offer) -> JsonObject:
    return {
        "name": offer.id,
        "pricePerUnit": offer.price_per_unit,
        "category": {"name": offer.category, "provider": offer.provider},
        "description": offer.description,
        "priority": 0,
        "cpu": offer.cpu,
        "memoryInGigs": offer.memory_in_gigs,
        "gpu": offer.gpu,
        "cpuModel": None,
        "memoryModel": None,
        "gpuModel": None,
        "version": 1,
        "freeToUse": offer.free_to_use,
        "allowAllocationRequestsFrom": "ALL",
        "unitOfPrice": "CREDITS_PER_MINUTE",
        "chargeType": "ABSOLUTE",
        "hiddenInGrantApplications": False,
        "productType": "COMPUTE",
        "balance": None,
        "id": offer.id,
        "maxUsableBalance": None,
    }


def _support(offer: Offer) -> JsonObject:
    support: JsonObject = {"product": {"id": offer.id, "category": offer.category, "provider": offer.provider}}
    for backend, flags in BACKENDS.items():
        given = offer.support.get(backend) or {}
        support[backend] = {flag: given.get(flag) for flag in flags}
    support["maintenance"] = None
    return support
