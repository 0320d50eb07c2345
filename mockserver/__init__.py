"""A stateful mock of the UCloud Jobs API on a deterministic clock."""
