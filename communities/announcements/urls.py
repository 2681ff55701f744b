from django.urls import path, register_converter

from communities.announcements import feeds, views


class FeedFormat:
    """The file extension of a feed address: feed.atom, feed.rss or feed.json."""

    regex = "atom|rss|json"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(FeedFormat, "feedformat")

# Fixed words ("new", "promotions", "feeds"...) come before the patterns they could be
# mistaken for; every other address starts with a marker (c/, a/, tags/, private/).
urlpatterns = [
    path("", views.announcement_list, name="announcement_list"),
    path("new/", views.compose, name="announcement_new"),
    path("promotions/", views.promotion_inbox, name="announcement_promotion_inbox"),
    path("promotions/<int:promotion_id>/accept/", views.promotion_accept, name="announcement_promotion_accept"),
    path("promotions/<int:promotion_id>/decline/", views.promotion_decline, name="announcement_promotion_decline"),
    path("feeds/", views.feeds_page, name="announcement_feeds"),
    path("feeds/reset/", views.feed_token_reset, name="announcement_feed_reset"),
    path("subscriptions/", views.subscribe, name="announcement_subscribe"),
    path(
        "subscriptions/<int:subscription_id>/delete/",
        views.subscription_delete,
        name="announcement_subscription_delete",
    ),
    path("unsubscribe/<str:token>/", views.unsubscribe_link, name="announcement_unsubscribe"),
    path("<int:announcement_id>/", views.detail, name="announcement_detail"),
    path("<int:announcement_id>/edit/", views.edit, name="announcement_edit"),
    path("<int:announcement_id>/publish/", views.publish, name="announcement_publish"),
    path("<int:announcement_id>/retract/", views.retract, name="announcement_retract"),
    path("<int:announcement_id>/promote/", views.promote, name="announcement_promote"),
    path(
        "<int:announcement_id>/promotions/<int:promotion_id>/withdraw/",
        views.promotion_withdraw,
        name="announcement_promotion_withdraw",
    ),
    path("<int:announcement_id>/reach/", views.reach, name="announcement_reach"),
    path("<int:announcement_id>/reach.csv", views.reach_csv, name="announcement_reach_csv"),
    # Communities (members), with their public feed.
    path("c/<slug:slug>/", views.community_page, name="announcement_community"),
    path("c/<slug:slug>/trusted/", views.trust_add, name="announcement_trust_add"),
    path("c/<slug:slug>/trusted/<slug:agency_slug>/remove/", views.trust_remove, name="announcement_trust_remove"),
    path("c/<slug:slug>/feed.<feedformat:fmt>", feeds.community_feed, name="announcement_community_feed"),
    # Public pages and feeds: no sign-in.
    path("a/<slug:slug>/", views.agency_page, name="announcement_agency"),
    path("a/<slug:slug>/feed.<feedformat:fmt>", feeds.agency_feed, name="announcement_agency_feed"),
    path("a/<slug:slug>/programs/<slug:program_slug>/", views.program_page, name="announcement_program"),
    path(
        "a/<slug:slug>/programs/<slug:program_slug>/feed.<feedformat:fmt>",
        feeds.program_feed,
        name="announcement_program_feed",
    ),
    path("tags/<slug:slug>/", views.tag_page, name="announcement_tag"),
    path("tags/<slug:slug>/feed.<feedformat:fmt>", feeds.tag_feed, name="announcement_tag_feed"),
    # A person's private feed: the secret in the address is the credential.
    path("private/<str:token>/feed.<feedformat:fmt>", feeds.private_feed, name="announcement_private_feed"),
]
