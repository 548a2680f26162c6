from flask import current_app, g, request, session
from flask.views import MethodView

from gridgov.areas.scope import scoped_area_ids
from gridgov.auth import services
from gridgov.auth.schemas import (
    BrowserSessionSchema,
    LoginSchema,
    MeSchema,
    TokenSchema,
    UserCreateSchema,
    UserQuerySchema,
    UserSchema,
    UserUpdateSchema,
)
from gridgov.auth.security import (
    CONSOLE_SESSION_KEY,
    auth_required,
    bearer_token,
    check_csrf,
    console_session_user,
    current_user,
)
from gridgov.extensions import limiter
from gridgov.pagination import Blueprint, paginate

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Sign-in, tokens and accounts")


def _login_account_key() -> str:
    body = request.get_json(silent=True) if request.is_json else request.form
    username = body.get("username") if hasattr(body, "get") else None
    return f"login-account:{str(username)[:64].lower()}"


def _failed(response) -> bool:
    return response.status_code == 401


# Shared limits: the API's and the console's sign-in draw on the same budgets.
_LOGIN_LIMITS = (
    limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], scope="login-ip"),
    limiter.shared_limit(
        lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
        key_func=_login_account_key,
        scope="login-account",
        deduct_when=_failed,
    ),
)


def login_limits(view):
    """The sign-in rate limits, per IP and per account (failures only); shared by every sign-in form."""
    for limit in reversed(_LOGIN_LIMITS):
        view = limit(view)
    return view


@blp.route("/auth/login")
class Login(MethodView):
    decorators = list(_LOGIN_LIMITS)

    @blp.doc(security=[])
    @blp.arguments(LoginSchema)
    @blp.response(200, TokenSchema)
    def post(self, body):
        """Sign in with username and password."""
        return services.login(body["username"], body["password"])


@blp.route("/auth/refresh")
class Refresh(MethodView):
    @blp.doc(
        security=[{"bearerAuth": []}],
        description="Send the refresh token as the bearer token. It is used up: the answer carries the "
        "next refresh token of the sign-in. A used refresh token sent again revokes the whole sign-in "
        "(every refresh token of it and the user's access tokens): 401.",
    )
    @blp.response(200, TokenSchema)
    def post(self):
        """Get a new access token and the next refresh token with a refresh token."""
        return services.refresh(bearer_token())


@blp.route("/auth/logout")
class Logout(MethodView):
    @blp.doc(
        description="Send the refresh token as the bearer token; the sign-in is revoked and the "
        "user's access tokens stop working at once."
    )
    @blp.response(204)
    def post(self):
        """Revoke a refresh token."""
        services.logout(bearer_token())


def _me(user) -> dict:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "roles": user.roles,
        "own_areas": user.area_ids,
        "areas": scoped_area_ids(user),
    }


def _browser_session(user) -> dict:
    from flask_wtf.csrf import generate_csrf

    return {"user": _me(user) if user else None, "csrf_token": generate_csrf()}


@blp.route("/auth/session")
class BrowserSession(MethodView):
    """The console's cookie session, for scripts in the browser (the field app): no token in storage."""

    @blp.doc(security=[])
    @blp.response(200, BrowserSessionSchema)
    def get(self):
        """The cookie session's user (null when signed out) and the CSRF token its writes must carry."""
        return _browser_session(console_session_user())

    @blp.doc(security=[], description="Needs the X-CSRFToken header from GET /auth/session.")
    @login_limits
    @blp.arguments(LoginSchema)
    @blp.response(200, BrowserSessionSchema)
    def post(self, body):
        """Sign in with username and password into an HttpOnly session cookie; a new CSRF token."""
        check_csrf()
        user, token = services.start_console_session(body["username"], body["password"])
        old = session.get(CONSOLE_SESSION_KEY)
        if old:
            services.end_console_session(old)
        session.clear()  # a fresh session (and CSRF token) after sign-in: no fixation
        g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
        session.permanent = True
        session[CONSOLE_SESSION_KEY] = token
        return _browser_session(user)

    @blp.doc(security=[], description="Needs the X-CSRFToken header.")
    @blp.response(204)
    def delete(self):
        """Sign out: the session ends on the server."""
        check_csrf()
        services.end_console_session(session.get(CONSOLE_SESSION_KEY))
        session.clear()


@blp.route("/me")
class Me(MethodView):
    @auth_required()
    @blp.response(200, MeSchema)
    def get(self):
        """The signed-in user, with roles and the areas in scope."""
        return _me(current_user())


@blp.route("/users")
class Users(MethodView):
    @auth_required("admin")
    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, UserSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """List accounts (admin)."""
        return paginate(services.list_users(query.get("role")), pagination_parameters)

    @auth_required("admin")
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    def post(self, body):
        """Create an account (admin)."""
        return services.create_user(**body)


@blp.route("/users/<int:user_id>")
class UserItem(MethodView):
    @auth_required("admin")
    @blp.response(200, UserSchema)
    def get(self, user_id):
        """One account (admin)."""
        return services.get_user(user_id)

    @auth_required("admin")
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, body, user_id):
        """Change roles, areas, password or disable an account (admin)."""
        return services.update_user(user_id, body)
