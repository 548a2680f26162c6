from marshmallow import Schema, fields, validate

from gridgov.auth.models import ROLES
from gridgov.masking import mask_phone
from gridgov.refs import Refs


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String()
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True)


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    username = fields.String(dump_only=True)
    display_name = fields.String(dump_only=True)
    phone = fields.Function(lambda user: mask_phone(user.phone), dump_only=True)
    roles = fields.List(fields.String(), dump_only=True)
    area_ids = fields.List(fields.Integer(), dump_only=True)
    is_active = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    roles = fields.List(fields.String())
    own_areas = fields.List(fields.Integer(), metadata={"description": "Areas assigned to the user"})
    areas = fields.List(fields.Integer(), metadata={"description": "Ids of every area in scope"})


class BrowserSessionSchema(Schema):
    user = fields.Nested(MeSchema, allow_none=True, metadata={"description": "null when signed out"})
    csrf_token = fields.String(metadata={"description": "Send as X-CSRFToken with every write"})


class UserCreateSchema(Schema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{3,64}$"))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))
    display_name = fields.String(load_default="", validate=validate.Length(max=100))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^\+?[0-9-]{5,20}$"))
    roles = fields.List(
        fields.String(validate=validate.OneOf(ROLES)), required=True, validate=validate.Length(min=1)
    )
    area_ids = Refs("area", load_default=list)


class UserUpdateSchema(Schema):
    password = fields.String(load_only=True, validate=validate.Length(min=1, max=256))
    display_name = fields.String(validate=validate.Length(max=100))
    phone = fields.String(allow_none=True, validate=validate.Regexp(r"^\+?[0-9-]{5,20}$"))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), validate=validate.Length(min=1))
    area_ids = Refs("area")
    is_active = fields.Boolean()


class UserQuerySchema(Schema):
    role = fields.String(validate=validate.OneOf(ROLES))
