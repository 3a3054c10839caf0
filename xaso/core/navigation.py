"""The menu, found by convention: each app may have a `navigation.py` with `ITEMS`."""

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from django.apps import apps
from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    order: int = 100
    # Decides per user whether the entry shows; the app knows its own permissions.
    visible: Callable[[object], bool] = lambda user: user.is_authenticated

    @property
    def url(self) -> str:
        return reverse(self.url_name)


def _all_items() -> list[NavItem]:
    items: list[NavItem] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("xaso."):
            continue
        try:
            module = import_module(f"{config.name}.navigation")
        except ModuleNotFoundError as missing:
            if missing.name != f"{config.name}.navigation":
                raise
            continue
        items.extend(getattr(module, "ITEMS", []))
    return sorted(items, key=lambda item: item.order)


def menu_for(user) -> list[NavItem]:
    return [item for item in _all_items() if item.visible(user)]
