"""The provision service's own I/O, each a nameko DependencyProvider on the service:
`documents` renders its views as PDF, CSV and xlsx responses."""

from .documents import DocumentRenderer

__all__ = ["DocumentRenderer"]
