"""RFC 9457 problem details: every error an API returns (docs/architecture.md, "HTTP")."""

PROBLEM_BASE = "https://sen-trust.example/problems/"


class Problem(Exception):
    status = 500
    title = "Internal error"
    slug = "internal"

    def __init__(self, detail=None, errors=None, headers=None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}

    def body(self, instance=None):
        body = {"type": PROBLEM_BASE + self.slug, "title": self.title,
                "status": self.status, "detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        if instance:
            body["instance"] = instance
        return body


class Unauthorized(Problem):
    status, title, slug = 401, "Unauthorized", "unauthorized"

    def __init__(self, detail=None):
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="sen-trust"'})


class Forbidden(Problem):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(Problem):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(Problem):
    status, title, slug = 409, "Conflict", "conflict"


class TooLarge(Problem):
    status, title, slug = 413, "Content too large", "too-large"


class UnsupportedMediaType(Problem):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class Unprocessable(Problem):
    status, title, slug = 422, "Invalid request", "validation"


def flatten_errors(messages, prefix=""):
    """marshmallow's nested messages → {"pupil.upn": ["..."], "areas_of_need.0": [...]}."""
    flat = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "body"
            if isinstance(value, dict):
                flat.update(flatten_errors(value, name))
            else:
                flat.setdefault(name, []).extend(
                    value if isinstance(value, list) else [str(value)])
    elif isinstance(messages, list):
        flat[prefix or "body"] = [str(m) for m in messages]
    else:
        flat[prefix or "body"] = [str(messages)]
    return flat


def from_validation_error(exc):
    errors = flatten_errors(exc.messages)
    fields = ", ".join(sorted(errors))
    return Unprocessable(f"Check these fields: {fields}", errors=errors)
