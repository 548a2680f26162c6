from marshmallow import Schema, fields

from gridgov.refs import Ref


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String(allow_none=True)
    changes = fields.Raw(allow_none=True)
    reason = fields.String(allow_none=True)


class AuditQuerySchema(Schema):
    object_type = fields.String()
    object_id = fields.String()
    actor_id = Ref("user")
