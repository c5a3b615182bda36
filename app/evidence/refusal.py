"""The refusal raised by every evidence check, kept apart so the checking modules can share it
without importing one another."""

from __future__ import annotations

MSG_UNSUPPORTED = "文件类型不支持：只接受照片（JPG/PNG/HEIC）、PDF 和 Office 文档"
MSG_MACRO = "文件类型不支持：不接受含宏的 Office 文档"


class EvidenceRejected(ValueError):
    """The upload is refused; ``str(exc)`` is a Chinese sentence to show the user."""
