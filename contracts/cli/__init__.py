"""The contract's commands for ``ucloud-jobs``: ``validate`` and ``schemas`` (``validate``), ``verify``."""
