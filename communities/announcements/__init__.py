"""Program announcements: published once by an agency, promoted with consent into other
agencies' communities, followed through feeds, subscriptions and email digests."""
