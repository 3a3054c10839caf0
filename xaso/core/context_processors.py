from django.utils.functional import SimpleLazyObject

import xaso
from xaso.core.navigation import menu_for


def shell(request):
    """What every page of the shell needs: the menu for this user and the version."""
    user = getattr(request, "user", None)
    return {
        "menu": SimpleLazyObject(lambda: menu_for(user) if user is not None else []),
        "xaso_version": xaso.__version__,
    }
