"""The contract applied to traffic: the checks a validating proxy makes, its report, and its recorder.

Nothing here opens a socket: ``mockserver.proxy`` passes calls on and hands each one here as an ``Exchange``.

- ``exchange``: a call and a finding; ``checks``: request, response and stateful checks (``stateful``);
- ``report``: the ledger and the report at exit, in ``ucloud-jobs validate``'s formats;
- ``recording``: a session as a scenario (``histories`` and ``timing`` infer it), ``users``: callers as names;
- ``diff``: where two JSON documents differ.
"""
