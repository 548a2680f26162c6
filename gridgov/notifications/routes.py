from flask.views import MethodView

from gridgov.auth.security import auth_required, current_user
from gridgov.notifications import services
from gridgov.notifications.schemas import (
    ChannelSchema,
    ChannelUpdateSchema,
    DeliverySchema,
    NotificationQuerySchema,
    NotificationSchema,
    OutboxStatusSchema,
    PreferenceSchema,
    ReadResultSchema,
    UnreadSchema,
)
from gridgov.pagination import Blueprint, paginate

blp = Blueprint("notifications", __name__, url_prefix="/api/v1", description="Notifications and channels")


@blp.route("/me/notifications")
class MyNotifications(MethodView):
    @auth_required()
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, NotificationSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """The signed-in user's in-app notifications, newest first."""
        return paginate(services.my_notifications(current_user(), query["unread"]), pagination_parameters)


@blp.route("/me/notifications/unread-count")
class UnreadCount(MethodView):
    @auth_required()
    @blp.response(200, UnreadSchema)
    def get(self):
        """How many notifications are unread."""
        return {"unread": services.unread_count(current_user())}


@blp.route("/me/notifications/<int:notification_id>/read")
class MarkRead(MethodView):
    @auth_required()
    @blp.response(200, ReadResultSchema)
    def post(self, notification_id):
        """Mark one notification read."""
        return {"marked": services.mark_read(current_user(), notification_id)}


@blp.route("/me/notifications/read-all")
class MarkAllRead(MethodView):
    @auth_required()
    @blp.response(200, ReadResultSchema)
    def post(self):
        """Mark every notification read."""
        return {"marked": services.mark_read(current_user())}


@blp.route("/me/notification-preferences")
class Preferences(MethodView):
    @auth_required()
    @blp.response(200, PreferenceSchema)
    def get(self):
        """Muted kinds, a personal webhook and quiet hours."""
        return services.get_preferences(current_user())

    @auth_required()
    @blp.arguments(PreferenceSchema)
    @blp.response(200, PreferenceSchema)
    @blp.doc(
        description="A personal webhook_url is for staff and admins only (403 otherwise), and must reach a "
        "public address unless GRIDGOV_WEBHOOK_ALLOW lists it (422)."
    )
    def put(self, body):
        """Change notification preferences."""
        return services.set_preferences(current_user(), body)


@blp.route("/notification-channels")
class Channels(MethodView):
    @auth_required("staff")
    @blp.response(200, ChannelSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Webhooks and group robots (WeCom, DingTalk) configured for areas in scope."""
        return paginate(services.channels_query(current_user()), pagination_parameters)

    @auth_required("staff")
    @blp.arguments(ChannelSchema)
    @blp.response(201, ChannelSchema)
    @blp.doc(
        description="The URL must reach a public address (checked now and again on the resolved address "
        "at every delivery; redirects are not followed) unless GRIDGOV_WEBHOOK_ALLOW lists it: 422 otherwise. "
        "Robots get at most GRIDGOV_ROBOT_PER_MINUTE messages a minute; a burst is folded into digests."
    )
    def post(self, body):
        """Send an area's notifications to a webhook or group robot too."""
        return services.create_channel(current_user(), body)


@blp.route("/notification-channels/<int:channel_id>")
class ChannelItem(MethodView):
    @auth_required("staff")
    @blp.arguments(ChannelUpdateSchema(partial=True))
    @blp.response(200, ChannelSchema)
    def patch(self, body, channel_id):
        """Change or switch off a channel."""
        return services.update_channel(current_user(), channel_id, body)


@blp.route("/admin/scheduler")
class SchedulerStatus(MethodView):
    @auth_required("admin")
    @blp.response(200, OutboxStatusSchema)
    def get(self):
        """Scheduled jobs and their last runs, the outbox backlog and failures (admin)."""
        return services.outbox_status()


@blp.route("/admin/deliveries/failed")
class FailedDeliveries(MethodView):
    @auth_required("admin")
    @blp.response(200, DeliverySchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Deliveries that gave up after their last attempt (admin)."""
        return paginate(services.failed_deliveries(), pagination_parameters)


@blp.route("/admin/deliveries/<int:delivery_id>/retry")
class RetryDelivery(MethodView):
    @auth_required("admin")
    @blp.response(200, DeliverySchema)
    def post(self, delivery_id):
        """Try a failed delivery again."""
        return services.retry_delivery(delivery_id)
