from flask.views import MethodView
from flask_smorest import Blueprint

from gridgov.areas import services
from gridgov.areas.schemas import AreaQuerySchema, AreaSchema
from gridgov.auth.security import auth_required, current_user
from gridgov.pagination import paginate

blp = Blueprint("areas", __name__, url_prefix="/api/v1/areas", description="Areas and micro-grids")


@blp.route("")
class Areas(MethodView):
    @auth_required()
    @blp.arguments(AreaQuerySchema, location="query")
    @blp.response(200, AreaSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """List the areas in scope."""
        return paginate(
            services.areas_query(current_user(), query.get("level"), query.get("parent")),
            pagination_parameters,
        )


@blp.route("/<int:area_id>")
class AreaItem(MethodView):
    @auth_required()
    @blp.response(200, AreaSchema)
    def get(self, area_id):
        """One area."""
        return services.get_area(current_user(), area_id)
