from django.http import HttpRequest


def workspace(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    agency = user.agency if user is not None and user.is_authenticated else None
    return {"current_agency": agency, "product_name": "Interagency Workspace"}
