"""The application's handle on the engine layer: one library and store per process."""

from __future__ import annotations

from pathlib import Path

from workflows.definitions import ProcessLibrary
from workflows.runner import InstanceStore

DISTRICT_PROCESS = "district_assessment"
ROUND_PROCESS = "round_assessment"
RECTIFICATION_PROCESS = "rectification"


class Processes:
    def __init__(self) -> None:
        self.library: ProcessLibrary | None = None
        self.store: InstanceStore | None = None

    def init(self, bpmn_dir: str | Path) -> None:
        self.library = ProcessLibrary(Path(bpmn_dir))
        self.store = InstanceStore(self.library)


processes = Processes()


def library() -> ProcessLibrary:
    assert processes.library is not None, "create_app() binds the process library"
    return processes.library


def store() -> InstanceStore:
    assert processes.store is not None, "create_app() binds the instance store"
    return processes.store
