from django.urls import path

from communities import views

# "new/" and "inbox/" come before "<slug:slug>/"; the create form refuses names whose
# slug would be shadowed by them.
urlpatterns = [
    path("", views.directory, name="community_directory"),
    path("new/", views.create, name="community_create"),
    path("inbox/", views.inbox, name="community_inbox"),
    path("inbox/invitations/<int:invitation_id>/accept/", views.invitation_accept, name="community_invitation_accept"),
    path(
        "inbox/invitations/<int:invitation_id>/decline/", views.invitation_decline, name="community_invitation_decline"
    ),
    path("<slug:slug>/", views.detail, name="community_detail"),
    path("<slug:slug>/access/", views.access, name="community_access"),
    path("<slug:slug>/edit/", views.edit, name="community_edit"),
    path("<slug:slug>/archive/", views.archive, name="community_archive"),
    path("<slug:slug>/participants/", views.participants, name="community_participants"),
    path("<slug:slug>/moderators/", views.moderator_appoint, name="community_moderator_appoint"),
    path("<slug:slug>/moderators/<int:user_id>/remove/", views.moderator_remove, name="community_moderator_remove"),
    path("<slug:slug>/invite/", views.invite, name="community_invite"),
    path(
        "<slug:slug>/invitations/<int:invitation_id>/withdraw/",
        views.invitation_withdraw,
        name="community_invitation_withdraw",
    ),
    path("<slug:slug>/requests/<int:request_id>/approve/", views.request_approve, name="community_request_approve"),
    path("<slug:slug>/requests/<int:request_id>/decline/", views.request_decline, name="community_request_decline"),
    path("<slug:slug>/members/<slug:agency_slug>/role/", views.member_role, name="community_member_role"),
    path("<slug:slug>/members/<slug:agency_slug>/remove/", views.member_remove, name="community_member_remove"),
    path("<slug:slug>/leave/", views.leave, name="community_leave"),
    path("<slug:slug>/join/", views.join, name="community_join"),
]
