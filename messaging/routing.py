from django.urls import path

from messaging.consumers import WorkspaceConsumer

websocket_urlpatterns = [path("ws/", WorkspaceConsumer.as_asgi())]
