"""What a task form needs to validate and apply a submission."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from app.accounts.models import User
from app.evidence.pixels import PixelBudget
from app.rounds.models import DistrictAssessment, Round
from app.tasks.models import TaskRecord


class Upload(Protocol):
    filename: str | None

    def read(self, size: int = -1) -> bytes: ...


@dataclass
class UploadSettings:
    """Where and how uploads are stored; made afresh for each request (upload_settings())."""

    directory: Path
    max_bytes: int
    display_max_px: int
    # The request's pixel allowance, shared by store_uploads across all of a form's fields.
    pixels: PixelBudget = field(default_factory=PixelBudget)


@dataclass
class TaskContext:
    session: Session
    user: User
    record: TaskRecord
    round: Round
    assessment: DistrictAssessment | None
    uploads: UploadSettings


Payload = Mapping[str, Any]
Files = Mapping[str, Sequence[Upload]]


class TaskForm(Protocol):
    """One user task's form: shown by the HTML page and the API, applied by the same code."""

    form_key: str
    template: str
    supports_draft: bool

    def context(self, ctx: TaskContext) -> dict[str, Any]:
        """Data the page shows (also returned by the API as the task's content)."""

    def fields(self, ctx: TaskContext) -> list[dict[str, Any]]:
        """The fields a submission may carry, described for API clients."""

    def parse(self, ctx: TaskContext, payload: Payload, files: Files, draft: bool) -> Any:
        """Validated, typed values; raise ValidationFailed with per-field messages."""

    def apply(self, ctx: TaskContext, clean: Any, draft: bool) -> dict[str, Any]:
        """Write the domain records; return the data handed to the workflow task."""
