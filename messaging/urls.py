from django.urls import path

from messaging import views

urlpatterns = [
    path("", views.notification_list, name="notification_list"),
    path("read/", views.notification_mark_read, name="notification_mark_read"),
]
