"""The baseline: the smallest WSGI app, served by the same gunicorn settings."""

BODY = b'{"status": "ok"}'


def app(environ, start_response):
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
    )
    return [BODY]
