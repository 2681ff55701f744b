"""Sign-in: Django's view and form, with an email field and our wording.

Deactivated people get the same message as a wrong password: the backend refuses them
before the form runs, which also keeps sign-in from revealing which accounts exist.
"""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView


class SignInForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email address", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"})
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email address and password do not match an active account.",
    }


class SignInView(LoginView):
    form_class = SignInForm
    redirect_authenticated_user = True
