"""Sinks from configuration: the ``sinks:`` list of a YAML file, one mapping per sink.

The fields of each type are the models of :mod:`seismo.config.sinks`, which check them.

Every entry has a ``type`` (slack, pagerduty, webhook, alertmanager, email), an optional
``name`` (default: the type; names must be unique) and an optional ``timeout`` in seconds
(default 10), plus the fields of its type::

    sinks:
      - type: slack
        name: team-channel
        url: ${SLACK_WEBHOOK_URL}
      - type: pagerduty
        name: oncall
        routing_key: ${PAGERDUTY_ROUTING_KEY}
        source: seismo-prod              # optional (default seismo)
        url: https://events.pagerduty.com/v2/enqueue   # optional
      - type: webhook
        url: https://hooks.example.com/seismo
        secret: ${SEISMO_WEBHOOK_SECRET}  # at least 16 characters
        headers: {X-Team: ml}            # optional; values are kept secret
      - type: alertmanager
        url: http://alertmanager:9093
        firing_ttl: 7d                   # optional: endsAt of a firing alert, from now
        headers: {Authorization: ${ALERTMANAGER_AUTH}}   # optional
      - type: email
        host: smtp.example.com
        port: 587                        # optional: 465 with ssl, 587 with starttls, else 25
        from: seismo@example.com
        to: [ml-team@example.com]
        username: seismo                 # optional
        password: ${SMTP_PASSWORD}       # optional, needs username
        starttls: true                   # optional (default true)
        ssl: false                       # optional (default false)
        html: true                       # optional: add an HTML alternative (default true)

A string value that is exactly ``${NAME}`` is read from the environment variable ``NAME``
(anywhere in the entry, including list items and header values); keep secrets out of the file
this way. Secrets (webhook URLs, routing keys, HMAC secrets, passwords, header values) are never
shown in error messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seismo.alerts.sinks.base import Sink


def sinks_from_config(
    entries: Any,
    source: str,
    *,
    environ: Mapping[str, str] | None = None,
    path: str = "sinks",
) -> list[Sink]:
    """Build the sinks of a ``sinks:`` list (see the module docstring for the fields).

    ``source`` names where the entries come from (the YAML file) and ``path`` the list's
    place in it (``alerts.sinks`` in seismo.yaml) in error messages; ``environ`` (default
    ``os.environ``) resolves ``${NAME}`` references. Raises
    :class:`~seismo.errors.InputError` for an entry that cannot be used.
    """
    from pydantic import TypeAdapter, ValidationError

    from seismo.config import input_error
    from seismo.config.sinks import Sinks

    try:
        checked = TypeAdapter(Sinks).validate_python(entries, context={"environ": environ})
    except ValidationError as error:
        raise input_error(error, source, Sinks, prefix=path) from None
    return [entry.build() for entry in checked]
