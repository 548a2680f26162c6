"""Staff console: the pages town staff, clerks, wage officers and leaders work in.

Pages call the same service functions, with the same role checks, as the API; forms are loaded
with the API's own marshmallow schemas. The browser signs in with a server-side session held in
an HttpOnly, SameSite cookie; every form and every API call the pages make carries a CSRF token.
"""
