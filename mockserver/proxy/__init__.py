"""``ucloud-jobs proxy``: a validating proxy in front of a real deployment (or any provider of the Jobs API).

The checks, the report and the recorder are the contract's (``contracts.proxy``); here is the edge: the
upstream client (``upstream``), which headers pass (``headers``), the WSGI app that forwards (``app``), the
server it runs on (``server``), and the recording's replay check and file (``replay``, ``recordfile``). A proxy
keeps no jobs of its own: it imports nothing of the mock's domain.
"""

from __future__ import annotations

from mockserver.proxy.app import ProxyApp
from mockserver.proxy.server import ProxyServer
from mockserver.proxy.upstream import Upstream, UpstreamFailure

__all__ = ["ProxyApp", "ProxyServer", "Upstream", "UpstreamFailure"]
