"""Companion: an offline voice companion for older adults.

Its first act, when the package is first imported and before any dependency is: nothing leaves the
device. `keep_everything_local()` sets the switches our dependencies read at start-up and makes
onnxruntime's own telemetry call the moment anyone imports it. (Her files' private modes and the data
folder are the store's: companion/store/private.py.)
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import sys
from types import ModuleType
from typing import Callable

__version__ = "0.1.0"

log = logging.getLogger(__name__)

# Read by our dependencies when they start; "1" everywhere means "no network, no telemetry".
OFFLINE_ENV = {
    "ORT_DISABLE_TELEMETRY": "1",  # onnxruntime (Piper): no 1DS uploader, events or device id file
    "HF_HUB_OFFLINE": "1",  # huggingface_hub (faster-whisper, llama_cpp.from_pretrained): never download
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "DO_NOT_TRACK": "1",  # the cross-tool convention (consoledonottrack.com)
}
SWITCHED_OFF: list[str] = []  # libraries whose own telemetry call was made in this process (observable for tests)


def keep_everything_local() -> None:
    """Set the offline/no-telemetry switches (forced: the family's promise wins) and hook onnxruntime."""
    os.environ.update(OFFLINE_ENV)
    if not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport("onnxruntime", _quiet_onnxruntime))
    if "onnxruntime" in sys.modules:  # imported before us (an embedding program): switch it off now
        _quiet_onnxruntime(sys.modules["onnxruntime"])


def _quiet_onnxruntime(module: ModuleType) -> None:
    disable = getattr(module, "disable_telemetry_events", None)
    if disable is not None:
        try:
            disable()
            SWITCHED_OFF.append("onnxruntime")
        except Exception:  # an old or unusual build: the environment switch above still holds
            log.debug("onnxruntime.disable_telemetry_events() failed", exc_info=True)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs `hook(module)` right after `name` is imported, whoever imports it (piper, a VAD...)."""

    def __init__(self, name: str, hook: Callable[[ModuleType], None]) -> None:
        self.name = name
        self.hook = hook
        self._finding = False

    def find_spec(self, fullname: str, path: object = None, target: object = None):  # noqa: D102
        if fullname != self.name or self._finding:
            return None
        self._finding = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._finding = False
        if spec is None or spec.loader is None:
            return None
        spec.loader = _HookedLoader(spec.loader, self.hook)
        return spec


class _HookedLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader, hook: Callable[[ModuleType], None]) -> None:
        self.loader = loader
        self.hook = hook

    def create_module(self, spec: importlib.machinery.ModuleSpec):  # noqa: D102
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:  # noqa: D102
        self.loader.exec_module(module)
        self.hook(module)

    def __getattr__(self, name: str):  # get_resource_reader, is_package... as the real loader answers
        return getattr(self.loader, name)


keep_everything_local()
