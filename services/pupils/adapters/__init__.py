"""The pupils service's own I/O, each a nameko DependencyProvider on the service class
(tests swap them with nameko's worker_factory / replace_dependencies)."""

from .documents import DocumentRenderer, Documents

__all__ = ["DocumentRenderer", "Documents"]
