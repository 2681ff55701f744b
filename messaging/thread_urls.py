from django.urls import path

from messaging import thread_views as views

urlpatterns = [
    path("c/<slug:community_slug>/", views.thread_list, name="thread_list"),
    path("c/<slug:community_slug>/new/", views.thread_create, name="thread_create"),
    path("<int:thread_id>/", views.thread_detail, name="thread_detail"),
    path("<int:thread_id>/post/", views.thread_post, name="thread_post"),
    path("<int:thread_id>/settings/", views.thread_settings, name="thread_settings"),
    path("<int:thread_id>/audience/", views.thread_audience, name="thread_audience"),
    path("<int:thread_id>/messages/<int:message_id>/edit/", views.message_edit, name="message_edit"),
    path("<int:thread_id>/messages/<int:message_id>/delete/", views.message_delete, name="message_delete"),
    path("<int:thread_id>/messages/<int:message_id>/react/", views.message_react, name="message_react"),
]
