"""Errors raised by the meta-feature extractor."""


class MetaFeatureError(ValueError):
    """The input cannot be profiled at all (for example, no rows or mismatched lengths)."""
