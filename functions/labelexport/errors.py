"""Errors the pipeline tells apart: a permanent problem is reported, a transient one retried."""


class LabelExportError(Exception):
    """Base of the errors this package raises on purpose."""


class ConfigError(LabelExportError):
    """Configuration (environment or command line) is invalid."""


class SourceError(LabelExportError):
    """The source cannot be read as an export at all (empty, wrong format, unreadable)."""


class PermanentError(LabelExportError):
    """A request that will never succeed as sent: report it and acknowledge."""


class TransientError(LabelExportError):
    """A fault that may pass (429, 5xx, timeouts): raise so the platform retries."""
