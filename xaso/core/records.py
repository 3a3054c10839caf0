"""Saving a row whose unique constraint a user can break by typing a duplicate."""

from django.db import IntegrityError, transaction

from xaso.core.errors import InvalidInput


def save_unique(instance, *, duplicate_message: str, field: str, update_fields=None) -> None:
    """Save; a uniqueness violation becomes InvalidInput on `field` instead of a 500."""
    try:
        with transaction.atomic():
            instance.save(update_fields=update_fields)
    except IntegrityError as error:
        raise InvalidInput(duplicate_message, field=field) from error
