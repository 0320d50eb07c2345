"""The job engine with no HTTP in it: jobs, their lifecycle, profiles, the clock and timeline, store and queries.

It raises the domain errors of ``mockserver.domain.errors`` and returns plain data; the web layer maps both to
HTTP.
"""
