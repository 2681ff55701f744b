from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from messaging.selectors import unread_count


def workspace(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    agency = user.agency if signed_in else None
    # Lazy: one COUNT when a page shows it (the header does), none for pages that do not.
    unread = SimpleLazyObject(lambda: unread_count(user)) if signed_in else 0
    return {"current_agency": agency, "product_name": "Interagency Workspace", "unread_notifications": unread}
