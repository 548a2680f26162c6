from marshmallow import Schema, fields, validate

from gridgov.areas.models import LEVELS


class AreaSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    parent_id = fields.Integer(allow_none=True)
    geometry = fields.Dict(allow_none=True)


class AreaBriefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    level = fields.String()
    parent_id = fields.Integer(allow_none=True)


class AreaQuerySchema(Schema):
    level = fields.String(validate=validate.OneOf(LEVELS))
    parent = fields.Integer(metadata={"description": "Only the children of this area id"})
    format = fields.String(validate=validate.OneOf(["json", "geojson"]), load_default="json")
