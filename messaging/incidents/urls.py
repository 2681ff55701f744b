from django.urls import path

from messaging.incidents import views

urlpatterns = [
    path("", views.incident_list, name="incident_list"),
    path("new/", views.incident_open, name="incident_open"),
    path("<int:incident_id>/", views.incident_detail, name="incident_detail"),
    path("<int:incident_id>/alerts/", views.alert_send, name="incident_alert_send"),
    path(
        "<int:incident_id>/alerts/<int:alert_id>/acknowledge/",
        views.alert_acknowledge,
        name="incident_alert_acknowledge",
    ),
    path("<int:incident_id>/status/", views.incident_status, name="incident_status"),
    path("<int:incident_id>/board/", views.board_add, name="incident_board_add"),
    path("<int:incident_id>/board/<int:entry_id>/", views.board_update, name="incident_board_update"),
    path("<int:incident_id>/handoff/", views.handoff, name="incident_handoff"),
    path("<int:incident_id>/handoff.md", views.handoff_markdown, name="incident_handoff_markdown"),
    path("<int:incident_id>/handoff.json", views.handoff_json, name="incident_handoff_json"),
    path("<int:incident_id>/timeline.json", views.timeline_json, name="incident_timeline_json"),
    path("<int:incident_id>/timeline.csv", views.timeline_csv, name="incident_timeline_csv"),
]
