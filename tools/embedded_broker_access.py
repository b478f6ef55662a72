"""The embedded broker's gatekeepers (clause 17.2.14): amqtt 0.12.1 plugins that do what
mosquitto's `require_certificate`, `use_identity_as_username` and `acl_file` do.

amqtt 0.12.1 (checked by running it) has a certificate plugin, but it wants a SPIFFE URI in the
certificate equal to the client id; its ACL plugin refuses the head-end's wildcard
subscriptions that mosquitto grants and filters; no plugin is asked about the last will, which
the broker publishes on its own; it counts a plugin's abstention as a refusal; and it lets a
TLS client go on without a certificate (`tools.embedded_broker` closes that). These two fill
those gaps:

- `CertificateIdentityAuth`: a client is let in only with a certificate the listener verified
  against the rig's CA; its common name becomes the session's user name; it must have grants,
  and its last will (if any) must be on a topic it may publish to.
- `TopicGrants`: publish, subscribe and delivery checked against the user's grants
  (`tools.broker_acl`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session
from cryptography import x509
from cryptography.x509.oid import NameOID

from tools.broker_acl import may_publish, may_subscribe

__all__ = ["CertificateIdentityAuth", "TopicGrants", "plugin_config"]


def _peer_common_name(session: Session) -> str | None:
    ssl_object = session.ssl_object
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    names = x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


class CertificateIdentityAuth(BaseAuthPlugin):  # type: ignore[misc]  # amqtt has no hints
    """Authenticates by client certificate; the common name is the user name."""

    @dataclass
    class Config:
        grants: dict[str, list[str]] = field(default_factory=dict)

    async def authenticate(self, *, session: Session) -> bool | None:
        name = _peer_common_name(session)
        if name is None:
            self.context.logger.warning(
                "client %s refused: no client certificate", session.client_id
            )
            return False
        grants = self.config.grants.get(name)
        if not grants:
            self.context.logger.warning(
                "client %s refused: %r has no grants", session.client_id, name
            )
            return False
        will = session.will_topic
        if will is not None and not may_publish(will, grants):
            self.context.logger.warning(
                "client %s refused: last will on %s", session.client_id, will
            )
            return False
        # use_identity_as_username: whatever user name the client sent is replaced.
        session.username = name
        return True


class TopicGrants(BaseTopicPlugin):  # type: ignore[misc]  # amqtt has no hints
    """Publish and subscribe only within the user's grants."""

    @dataclass
    class Config:
        grants: dict[str, list[str]] = field(default_factory=dict)

    async def topic_filtering(
        self, *, session: Session | None = None, topic: str | None = None, action: Any = None
    ) -> bool | None:
        if session is None or topic is None or session.username is None:
            return False
        grants = self.config.grants.get(session.username, [])
        if action == Action.SUBSCRIBE:
            allowed = may_subscribe(topic, grants)
        else:
            # PUBLISH, and RECEIVE (a message about to be delivered, checked again so that
            # nothing outside the grants reaches the user whatever it subscribed to). amqtt
            # counts an abstention (None) as a refusal, so every action gets an answer.
            allowed = may_publish(topic, grants)
        if not allowed:
            self.context.logger.warning("%s may not %s %s", session.username, action.value, topic)
        return allowed


def plugin_config(grants: dict[str, list[str]]) -> dict[str, Any]:
    """The `plugins` section of amqtt's configuration that enforces `grants`."""
    return {
        f"{__name__}.CertificateIdentityAuth": {"grants": grants},
        f"{__name__}.TopicGrants": {"grants": grants},
    }
