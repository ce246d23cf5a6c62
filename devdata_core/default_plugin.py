"""The core's own plugin: registers the built-in anonymisers by name, and the detectors
of personal fields by type and by name.

Loaded through the ``devdata`` entry point of the ``devdata-core`` distribution,
like any other plugin, so it can be listed and disabled the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import hookimpl
from .anonymisation.detection import Detector, NameDetector, by_type, personal_names
from .anonymisers import BUILTIN_FACTORIES


@hookimpl
def devdata_anonymisers() -> dict[str, Callable[..., Any]]:
    return dict(BUILTIN_FACTORIES)


@hookimpl(trylast=True)  # plugins' detectors first: the first suspicion found counts
def devdata_pii_detectors() -> Sequence[Detector]:
    return [by_type, NameDetector(personal_names())]
