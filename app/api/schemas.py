from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.inputs import MAX_ID


class TokenRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(max=50))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))
    name = fields.String(load_default="API", validate=validate.Length(max=100))


class TokenResponse(Schema):
    token = fields.String()
    expires_at = fields.DateTime()


class TaskSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    form_key = fields.String()
    element = fields.String()
    round_id = fields.Integer()
    district_id = fields.Integer(allow_none=True)
    state = fields.String()
    claimed_by = fields.Integer(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean(attribute="is_overdue")
    escalated = fields.Boolean()
    created_at = fields.DateTime()


class InboxQuery(Schema):
    after = fields.Integer(load_default=None, validate=validate.Range(min=0, max=MAX_ID))


class InboxSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema))
    next_after = fields.Integer(allow_none=True)
    count = fields.String(metadata={"description": "capped count, e.g. '99+'"})


class FieldSchema(Schema):
    name = fields.String()
    type = fields.String()
    label = fields.String()
    choices = fields.List(fields.String())
    min = fields.String()
    max = fields.String()


class TaskDetailSchema(TaskSchema):
    form_fields = fields.List(fields.Nested(FieldSchema), data_key="fields", attribute="fields")
    supports_draft = fields.Boolean()


class CompleteRequest(Schema):
    values = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True)


class ApiErrorSchema(Schema):
    error = fields.String()
    message = fields.String()
    field_errors = fields.Dict(
        keys=fields.String(), values=fields.String(), data_key="fields", attribute="fields"
    )


class DistrictStatusSchema(Schema):
    district_id = fields.Integer()
    district = fields.String()
    stage = fields.String()
    self_overdue = fields.Boolean()


class RoundSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    period = fields.String()
    status = fields.String()
    scheme = fields.String()
    districts_total = fields.Integer()
    districts_done = fields.Integer()
    districts = fields.List(fields.Nested(DistrictStatusSchema))


class ResultSchema(Schema):
    district_id = fields.Integer()
    district = fields.String()
    total = fields.String()
    rank = fields.Integer()
    first_level = fields.Dict(keys=fields.String(), values=fields.String())


class IndicatorScoreSchema(Schema):
    code = fields.String()
    name = fields.String()
    max = fields.String()
    scores = fields.Dict(keys=fields.String(), values=fields.String())


class ScoresSchema(Schema):
    round_id = fields.Integer()
    published = fields.Boolean()
    results = fields.List(fields.Nested(ResultSchema))
    district_detail = fields.List(fields.Nested(IndicatorScoreSchema))


class ExportResultSchema(ResultSchema):
    """A district's final result for 综合考核; scores are decimal strings such as "73.50"."""

    district_code = fields.String()
    grade = fields.String()
    veto = fields.String()


class ExportSchema(Schema):
    round = fields.Dict()
    scheme = fields.Dict()
    results = fields.List(fields.Nested(ExportResultSchema))
