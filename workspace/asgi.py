"""ASGI entry point: HTTP through Django, WebSockets through Channels.

WebSocket connections must come from an allowed origin and are authenticated from the
Django session cookie, so a socket carries exactly the signed-in person's rights.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workspace.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from messaging.middleware import SocketAuthStack  # noqa: E402  (needs Django set up first)
from messaging.routing import websocket_urlpatterns  # noqa: E402

if settings.EAGER_TCP_WRITES:  # daphne's sockets send at once when they can (workspace/eager_tcp.py)
    from workspace import eager_tcp

    eager_tcp.install()

http_app = django_asgi_app
if settings.SERVE_STATIC:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    http_app = ASGIStaticFilesHandler(django_asgi_app)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(SocketAuthStack(URLRouter(websocket_urlpatterns))),
    }
)
