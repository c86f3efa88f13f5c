"""The one error of the datasets domain: a dataset that cannot be worked on now."""

from __future__ import annotations

from dataclasses import dataclass

from kluis.kit.errors import DomainError


@dataclass
class DatasetUnavailable(DomainError):
    """A declared dataset is down, not configured or does not match its declaration.

    Nothing was changed in it. The request that needed it waits and is tried again; ``message`` tells
    staff what to fix, without personal data.
    """

    code: str = "dataset_unavailable"
    status: int = 503
    dataset_id: str = ""
