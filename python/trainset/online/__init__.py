"""Online serving: materialize the serving mart into an online store (SQLite or Redis), serve
it over HTTP in Feast's shape or in process, log what was served, and check it against the
offline definitions (training-serving skew)."""

from .client import get_features, get_online_response
from .materialize import MaterializeError, materialize
from .store import NotMaterializedError, StoreUnavailableError, open_store

__all__ = [
    "MaterializeError",
    "NotMaterializedError",
    "StoreUnavailableError",
    "get_features",
    "get_online_response",
    "materialize",
    "open_store",
]
