"""Fit cost: how long each configuration takes to fit on a dataset of a given size.

Generic over run histories, like :class:`~metarec.metalearner.MetaLearner`:
``fit(sizes, runtimes)`` takes ``sizes``, a DataFrame[datasets x size measures] of positive
numbers (rows, features, classes, ...), and ``runtimes``, a DataFrame[datasets x configurations]
of seconds (NaN = not run); ``predict(sizes_new)`` returns DataFrame[new datasets x
configurations] of predicted seconds.

The model, per configuration, is a power law in the sizes with a local correction: ``log10 seconds
= a + b . log10 sizes`` by least squares over the datasets the configuration ran on (a size that
did not vary there gets no coefficient), plus the median residual of that configuration on the
``n_neighbors`` of those datasets nearest to the new one in log-size space. The power law carries
the growth with size (what a user's larger table needs); the neighbours carry what sizes do not
explain but similar datasets share. A configuration run on fewer than ``min_datasets`` datasets (or
not more datasets than the law has coefficients) gets no prediction (NaN).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd


class FitCostModel:
    """Predicted fit seconds per configuration from dataset sizes (see the module docstring)."""

    def __init__(self, n_neighbors: int = 10, min_datasets: int = 5) -> None:
        self.n_neighbors = n_neighbors
        self.min_datasets = min_datasets

    def fit(self, sizes: pd.DataFrame, runtimes: pd.DataFrame) -> FitCostModel:
        sizes = sizes.astype(float)
        runtimes = runtimes.reindex(sizes.index).astype(float)
        known = np.isfinite(sizes.to_numpy()).all(axis=1) & (sizes.to_numpy() > 0).all(axis=1)
        sizes, runtimes = sizes[known], runtimes[known]
        self.size_names_ = list(sizes.columns)
        self.configurations_ = list(runtimes.columns)
        self.log_sizes_ = np.log10(sizes.to_numpy())
        seconds = runtimes.to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(seconds > 0, np.log10(seconds), np.nan)
        design = np.column_stack([np.ones(len(y)), self.log_sizes_])
        coefs = np.full((y.shape[1], design.shape[1]), np.nan)
        needed = max(self.min_datasets, design.shape[1] + 1)
        for j in range(y.shape[1]):
            ran = np.isfinite(y[:, j])
            if ran.sum() < needed:
                continue
            # A size that did not vary where the configuration ran says nothing about its
            # growth: its coefficient stays 0 (least squares would share the intercept with it).
            varied = np.r_[True, np.ptp(self.log_sizes_[ran], axis=0) > 1e-9]
            coefs[j] = 0.0
            coefs[j, varied] = np.linalg.lstsq(design[ran][:, varied], y[ran, j], rcond=None)[0]
        self.coefs_ = coefs
        self.residuals_ = y - design @ coefs.T  # NaN where not run or not modelled
        return self

    def predict(self, sizes: pd.DataFrame) -> pd.DataFrame:
        """Predicted seconds, DataFrame[``sizes``' rows x configurations]; NaN where unknown."""
        values = sizes.reindex(columns=self.size_names_).astype(float).to_numpy()
        query = np.log10(np.clip(values, 1.0, None))
        base = np.column_stack([np.ones(len(query)), query]) @ self.coefs_.T
        distances = ((query[:, None, :] - self.log_sizes_[None, :, :]) ** 2).sum(axis=2)
        correction = np.zeros_like(base)
        for i, order in enumerate(np.argsort(distances, axis=1, kind="stable")):
            residuals = self.residuals_[order]  # nearest first
            ran = np.isfinite(residuals)
            # Each configuration's own nearest n_neighbors among the datasets it ran on.
            nearest = ran & (np.cumsum(ran, axis=0) <= self.n_neighbors)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: no neighbour ran it
                median = np.nanmedian(np.where(nearest, residuals, np.nan), axis=0)
            correction[i] = np.nan_to_num(median, nan=0.0)
        return pd.DataFrame(10.0 ** (base + correction), index=sizes.index,
                            columns=self.configurations_)
