"""The monitoring UI at ``/ui``: server-rendered pages over the service's state.

Overview of every model, a model's drift and performance over time, one window, alerts, and
the loop's decisions and rollouts — read through the same store and window history as the
JSON API, acting through the same library calls, behind the same tokens (as a session:
:mod:`.session`). Pages are Jinja templates with inline SVG charts (:mod:`.charts`), one
stylesheet and one small script of our own; nothing is loaded from elsewhere, and a strict
Content-Security-Policy says so to the browser.
"""

from seismo.service.ui.pages import Compressed, router

__all__ = ["Compressed", "router"]
