"""Run campaigns: a fixed portfolio of configurations cross-validated on many datasets, written
as a knowledge base of its own source with the machinery of ``metarec kb add``
(:func:`metarec.kb.add.run_portfolio`: resumable, shared between processes, on joblib or Dask).
"""
