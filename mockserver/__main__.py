"""``python -m mockserver`` runs the ``ucloud-jobs`` command."""

from mockserver.cli import main

raise SystemExit(main())
