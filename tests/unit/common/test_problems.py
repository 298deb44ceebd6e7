from marshmallow import Schema, ValidationError, fields

from services.common.problems import NotFound, flatten_errors, from_validation_error


class Inner(Schema):
    upn = fields.String(required=True)


class Outer(Schema):
    pupil = fields.Nested(Inner, required=True)
    tags = fields.List(fields.Integer())


def test_nested_errors_are_named_by_dotted_path():
    try:
        Outer().load({"pupil": {}, "tags": [1, "x"]})
    except ValidationError as exc:
        flat = flatten_errors(exc.messages)
    assert flat == {"pupil.upn": ["Missing data for required field."],
                    "tags.1": ["Not a valid integer."]}


def test_problem_body_is_rfc9457():
    problem = from_validation_error(ValidationError({"name": ["Required"]}))
    body = problem.body()
    assert body["status"] == 422 and body["errors"] == {"name": ["Required"]}
    assert body["type"].startswith("https://") and body["title"]
    assert NotFound().body()["status"] == 404
