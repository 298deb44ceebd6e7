"""OpenAPI 3 for a service, built with apispec from the marshmallow schemas its
`api` entrypoints declare, so the document cannot drift from the code."""

import inspect
import re
from decimal import Decimal

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields as ma_fields

_PARAM = re.compile(r"<(?:[a-z]+:)?([a-zA-Z_]+)>")

PROBLEM = {
    "type": "object",
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "errors": {"type": "object",
                   "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["type", "title", "status"],
}


def api_entrypoints(service_cls):
    from .http import Api
    for name, member in inspect.getmembers(service_cls):
        for ep in getattr(member, "nameko_entrypoints", ()):
            if isinstance(ep, Api):
                yield name, ep


def _decimal_as_string(self, field, **kwargs):
    """A Decimal field with as_string is a JSON string (money: "12.50"), not a number."""
    if isinstance(field, ma_fields.Decimal) and field.as_string:
        return {"type": "string", "format": "decimal"}
    return {}


def build_openapi(service_cls):
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title=f"SEN trust platform: {service_cls.name}", version="1", openapi_version="3.0.3",
        plugins=[plugin],
        info={"description": "Bearer JWT required unless marked public. Errors are RFC 9457 "
                             "problem details (application/problem+json)."},
    )
    plugin.converter.add_attribute_function(_decimal_as_string)
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("Problem", PROBLEM)
    problem_ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    paths = {}
    for name, ep in sorted(api_entrypoints(service_cls), key=lambda x: x[1].url):
        if not ep.url.startswith("/api/") or ep.url.endswith("/openapi.json"):
            continue  # health, metrics and this document are not part of the API
        path = _PARAM.sub(r"{\1}", ep.url)
        op = {"operationId": name, "summary": ep.summary or name.replace("_", " "),
              "responses": {}}
        params = [{"in": "path", "name": p, "required": True, "schema": {"type": "string"}}
                  for p in _PARAM.findall(ep.url)]
        if ep.query_schema is not None:
            params.append({"in": "query", "schema": ep.query_schema})
        if ep.method == "POST" and not ep.public:  # idempotency.py
            params.append({"in": "header", "name": "Idempotency-Key", "required": False,
                           "description": "Same key and body: the first answer again "
                                          "(IETF httpapi draft)",
                           "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                                      "pattern": "^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$"}})
        if params:
            op["parameters"] = params
        if ep.body_schema is not None:
            op["requestBody"] = {"required": True,
                                 "content": {"application/json": {"schema": ep.body_schema}}}
        ok = {"description": "Success"}
        if ep.response_schema is not None:
            schema = ep.response_schema
            if ep.many:  # a list endpoint answers a JSON array of the schema
                schema = {"type": "array", "items": schema}
            ok["content"] = {"application/json": {"schema": schema}}
        op["responses"][str(ep.status)] = ok
        if not ep.public:
            op["security"] = [{"bearer": []}]
            op["responses"]["401"] = {"description": "No valid token", "content": problem_ref}
            op["responses"]["403"] = {"description": "Role not allowed", "content": problem_ref}
        # Every status the kit or a handler may answer (problem details), so that a
        # client (or schemathesis) can rely on the document.
        op["responses"]["404"] = {"description": "Not found", "content": problem_ref}
        if ep.method.upper() != "GET":
            op["responses"]["409"] = {"description": "Conflicts with the current state",
                                      "content": problem_ref}
        if ep.body_schema is not None:
            op["responses"]["413"] = {"description": "Body too large", "content": problem_ref}
            op["responses"]["415"] = {"description": "Body is not application/json",
                                      "content": problem_ref}
        if ep.body_schema is not None or ep.query_schema is not None or "{" in path:
            op["responses"]["422"] = {"description": "Invalid input", "content": problem_ref}
        for method in ep.method.split(","):
            paths.setdefault(path, {})[method.lower()] = op
    for path, ops in paths.items():
        spec.path(path=path, operations=ops)
    return _numbers(spec.to_dict())


_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _numbers(value):
    """Bounds of Decimal fields (money) as JSON numbers: apispec writes them as
    strings, which OpenAPI tools reject."""
    if isinstance(value, dict):
        return {k: float(v) if k in _BOUNDS and isinstance(v, str | Decimal) else _numbers(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    return value
