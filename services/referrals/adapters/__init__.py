"""The referrals service's own I/O, each a nameko DependencyProvider on the service
class (tests swap them with worker_factory / replace_dependencies)."""

from .documents import Documents

__all__ = ["Documents"]
