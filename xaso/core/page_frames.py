"""Pages rendered once per shape, then filled in per visitor by joining strings.

The hottest pages (a stamp check) differ between visitors only in a few values (a code, a
count, a time); rendering the whole template for each costs more than the rest of the request.
A frame is the template rendered with a marker where each such value goes; it is kept per
*shape*, everything else the template reads (a context of hashable values), split at its
markers, and each request joins the pieces with its escaped values in between. Frames are
kept encoded: encoding a whole page of Vietnamese text on every request cost more than
joining it.
"""

from html import escape

from django.template.loader import render_to_string
from django.utils.translation import get_language

MAX_FRAMES = 1000
MARK = "\x00"  # cannot occur in a template's output, and survives escaping


class PageFrames:
    """The frames of one template, shared by the threads of a process."""

    def __init__(self, template: str):
        self.template = template
        # A frame is the page split at its markers: UTF-8 text, value name, UTF-8 text, …
        self._frames: dict[tuple, list] = {}  # one get or set of a dict is atomic

    def render(self, context: dict, values: dict[str, str]) -> bytes:
        """The page for `context` in UTF-8, whose values must be hashable (they are the frame's
        key), with `values` in place: text, escaped here, that the template prints unfiltered."""
        key = (get_language(), *context.items())
        frame = self._frames.get(key)
        if frame is None:
            markers = {name: f"{MARK}{name}{MARK}" for name in values}
            frame = render_to_string(self.template, {**context, **markers}).split(MARK)
            frame[::2] = [text.encode() for text in frame[::2]]
            if len(self._frames) >= MAX_FRAMES:
                self._frames.clear()  # crude, but bounded; the shapes in use are few
            self._frames[key] = frame
        pieces = frame.copy()
        # Quotes are escaped too: a value may sit in an attribute.
        pieces[1::2] = [escape(values[name]).encode() for name in frame[1::2]]
        return b"".join(pieces)
