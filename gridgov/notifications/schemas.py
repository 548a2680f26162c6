from marshmallow import Schema, fields, validate

from gridgov.bounded import HH_MM
from gridgov.dumping import DirectDump
from gridgov.notifications.models import CHANNEL_KINDS
from gridgov.refs import Ref


class NotificationSchema(DirectDump):
    id = fields.Integer()
    kind = fields.String()
    subject = fields.String()
    title = fields.String()
    body = fields.String()
    data = fields.Dict()
    urgent = fields.Boolean()
    due_at = fields.DateTime()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationQuerySchema(Schema):
    unread = fields.Boolean(load_default=False)


class UnreadSchema(Schema):
    unread = fields.Integer()


class ReadResultSchema(Schema):
    marked = fields.Integer()


class PreferenceSchema(Schema):
    muted_kinds = fields.List(fields.String(validate=validate.Length(max=50)))
    webhook_url = fields.Url(allow_none=True, schemes={"http", "https"}, require_tld=False)
    webhook_secret = fields.String(allow_none=True, load_only=True, validate=validate.Length(max=200))
    quiet_start = fields.Time(allow_none=True, format="%H:%M", metadata=HH_MM)
    quiet_end = fields.Time(allow_none=True, format="%H:%M", metadata=HH_MM)


class ChannelSchema(Schema):
    id = fields.Integer(dump_only=True)
    area_id = Ref("area", required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf(CHANNEL_KINDS))
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False, load_only=True)
    url_host = fields.Function(lambda c: c.url.split("/")[2] if "//" in c.url else "", dump_only=True)
    secret = fields.String(allow_none=True, load_only=True, validate=validate.Length(max=200))
    has_secret = fields.Function(lambda c: bool(c.secret), dump_only=True)
    kinds = fields.List(fields.String(), allow_none=True)
    quiet_start = fields.Time(allow_none=True, format="%H:%M", metadata=HH_MM)
    quiet_end = fields.Time(allow_none=True, format="%H:%M", metadata=HH_MM)
    active = fields.Boolean()


class DeliverySchema(Schema):
    id = fields.Integer()
    notification_id = fields.Integer()
    channel_id = fields.Integer(allow_none=True)
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)


class OutboxStatusSchema(Schema):
    jobs = fields.List(fields.Dict())
    pending_deliveries = fields.Integer()
    oldest_pending_at = fields.String(allow_none=True)
    failed_deliveries = fields.Integer()
    notifications = fields.Integer()


class ChannelUpdateSchema(ChannelSchema):
    """The same fields, each optional (loaded with partial=True)."""
