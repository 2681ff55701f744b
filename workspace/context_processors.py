from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from messaging.incidents.selectors import alert_banner
from messaging.selectors import unread_count


def workspace(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    agency = user.agency if signed_in else None
    # Lazy: one COUNT when a page shows it (the header does), none for pages that do not.
    unread = SimpleLazyObject(lambda: unread_count(user)) if signed_in else 0
    # Lazy too: the person's unacknowledged alerts and their stream's seq, one query, for the
    # banner every signed-in page shows.
    alerts = SimpleLazyObject(lambda: alert_banner(user)) if signed_in else None
    return {
        "current_agency": agency,
        "product_name": "Interagency Workspace",
        "unread_notifications": unread,
        "alert_banner": alerts,
    }
