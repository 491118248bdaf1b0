"""The ``metarec`` command line (installed as ``metarec.cli``)."""
