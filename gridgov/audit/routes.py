from flask.views import MethodView

from gridgov.audit import services
from gridgov.audit.schemas import AuditEntrySchema, AuditQuerySchema
from gridgov.auth.security import auth_required
from gridgov.pagination import Blueprint, paginate

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Audit log (admin)")


@blp.route("")
class AuditLog(MethodView):
    @auth_required("admin")
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditEntrySchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """The audit log, newest first (admin)."""
        return paginate(services.list_entries(**query), pagination_parameters)
