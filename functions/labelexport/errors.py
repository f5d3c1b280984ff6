"""Errors the pipeline tells apart: a permanent problem is reported, a transient one retried."""


class LabelExportError(Exception):
    """Base of the errors this package raises on purpose."""


class ConfigError(LabelExportError):
    """Configuration (environment or command line) is invalid."""


class SourceError(LabelExportError):
    """The source cannot be read as an export at all (empty, wrong format, unreadable)."""

    reason = "unreadable_export"  # the failed result's reason


class TooManyItems(SourceError):
    """The export holds more distinct data items than the memory given to the split holds."""

    reason = "too_many_items"

    def __init__(self, limit: int):
        super().__init__(f"the export holds more than {limit:,} distinct data items")
        self.limit = limit


class PermanentError(LabelExportError):
    """A request that will never succeed as sent: report it and acknowledge."""


class TransientError(LabelExportError):
    """A fault that may pass (429, 5xx, timeouts): raise so the platform retries."""
