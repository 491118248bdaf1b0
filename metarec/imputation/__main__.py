"""``python -m metarec.imputation``: fit the imputer selector on the campaign's tables."""

from metarec.imputation.campaign import main

raise SystemExit(main())
