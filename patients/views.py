from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from .roles import role_of


def _account_links(user) -> list[dict[str, str]]:
    """Links other apps offer on the Account page (settings.ACCOUNT_PAGE_LINKS: the project
    shell names them, so this lower app never imports the apps above it)."""
    role = role_of(user)
    links = []
    for roles, label, url_name, hint in getattr(settings, "ACCOUNT_PAGE_LINKS", []):
        if role not in roles:
            continue
        try:
            links.append({"label": label, "url": reverse(url_name), "hint": hint})
        except NoReverseMatch:
            continue
    return links


@login_required
def account(request):
    return render(request, "patients/account.html", {"account_links": _account_links(request.user)})
