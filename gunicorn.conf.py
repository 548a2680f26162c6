"""gunicorn settings read from the repository root (gunicorn loads ./gunicorn.conf.py by default).

gunicorn answers an over-long request line (414) or header (431) itself, in plain text. Its limits
are set above the app's (GRIDGOV_MAX_URL_BYTES, GRIDGOV_MAX_HEADER_BYTES), so the app answers
those in its JSON envelope; only beyond gunicorn's hard caps (8190 bytes for the request line)
does gunicorn answer, and a reverse proxy in front should refuse such requests first (nginx:
`large_client_header_buffers 4 8k;`).
"""

limit_request_line = 8190  # gunicorn's maximum
limit_request_field_size = 16380
limit_request_fields = 100
