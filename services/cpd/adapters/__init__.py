"""The cpd service's own I/O, each a nameko DependencyProvider declared on the
service class (tests swap them with worker_factory/replace_dependencies):
`calendar` (iCalendar invitations and feeds) and `certificates` (the PDF)."""
