from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from workspace import views
from workspace.auth_views import SignInView

account_patterns = [
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("password-change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password-change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]

agency_patterns = [
    path("", views.agency_list, name="agency_list"),
    path("<slug:slug>/", views.agency_detail, name="agency_detail"),
    path("<slug:slug>/staff/", views.staff_manage, name="staff_manage"),
    path("<slug:slug>/staff/<int:user_id>/role/", views.staff_change_role, name="staff_change_role"),
    path("<slug:slug>/staff/<int:user_id>/deactivate/", views.staff_deactivate, name="staff_deactivate"),
    path("<slug:slug>/staff/<int:user_id>/reactivate/", views.staff_reactivate, name="staff_reactivate"),
    path("<slug:slug>/invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("<slug:slug>/audit/", views.audit_log, name="audit_log"),
    path("<slug:slug>/audit.csv", views.audit_export, name="audit_export"),
]

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/", include(account_patterns)),
    path("join/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("agencies/", include(agency_patterns)),
    path("communities/", include("communities.urls")),
    path("documents/", include("communities.documents.urls")),
    path("notifications/", include("messaging.urls")),
    path("threads/", include("messaging.thread_urls")),
    path("incidents/", include("messaging.incidents.urls")),
    path("search/", include("search.urls")),
    path("announcements/", include("communities.announcements.urls")),
    path("admin/", admin.site.urls),
]
