"""trainset: leakage-free, quality-gated, reproducible ML training sets built with dbt."""

from .reader import IntegrityError, VersionNotFoundError, list_versions, load, load_manifest

__all__ = ["IntegrityError", "VersionNotFoundError", "list_versions", "load", "load_manifest"]
__version__ = "0.1.0"
