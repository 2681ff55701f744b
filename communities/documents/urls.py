from django.urls import path

from communities.documents import views

urlpatterns = [
    path("", views.document_inbox, name="document_inbox"),
    path("in/<slug:slug>/", views.document_list, name="document_list"),
    path("in/<slug:slug>/new/", views.document_upload, name="document_upload"),
    path("<int:document_id>/", views.document_detail, name="document_detail"),
    path("<int:document_id>/download/", views.document_download, name="document_download"),
    path(
        "<int:document_id>/versions/<int:number>/download/", views.document_download, name="document_version_download"
    ),
    path("<int:document_id>/revise/", views.document_revise, name="document_revise"),
    path("<int:document_id>/edit/", views.document_edit, name="document_edit"),
    path("<int:document_id>/access/", views.document_access, name="document_access"),
    path("<int:document_id>/people/", views.document_people, name="document_people"),
    path("<int:document_id>/delete/", views.document_delete, name="document_delete"),
    path("<int:document_id>/share/", views.document_share, name="document_share"),
    path("<int:document_id>/request-share/", views.document_request_share, name="document_request_share"),
    path("shares/<int:share_id>/accept/", views.share_accept, name="document_share_accept"),
    path("shares/<int:share_id>/decline/", views.share_decline, name="document_share_decline"),
    path("shares/<int:share_id>/withdraw/", views.share_withdraw, name="document_share_withdraw"),
    path("shares/<int:share_id>/end/", views.share_end, name="document_share_end"),
]
