"""Sign-in: Django's view, with a form that tells locked-out and deactivated people apart."""

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
        "inactive": "This account has been deactivated. Ask an admin of your agency.",
    }


class SignInView(LoginView):
    form_class = SignInForm
    redirect_authenticated_user = True
