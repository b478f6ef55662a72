"""The head-end's `config_get` and `config_set` commands (clauses 12.1.o, 12.1.s-u, 18.8,
19.1.7): the hub's own effect, so each runs inside the command journal's transaction and a
redelivered `config_set` is answered from the journal, never applied twice (19.1.6).

- `config_get` {"key"?}: one setting, or all of them;
- `config_set` {"key", "value"}: change one; the answer is the configuration-change message
  (12.2), which also goes up the outbox as `config_change.forward` says.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hal.ports import Tx
from protocol.wan import CommandType, WanCommand

from .command_journal import CommandJournal
from .hub_config import ConfigRefused, HubConfig

__all__ = ["register_config_commands"]


def _key(command: WanCommand, required: bool) -> str | None:
    key = command.args.get("key")
    if key is None and not required:
        return None
    if not isinstance(key, str) or not 0 < len(key) <= 128:
        raise ConfigRefused(f'{command.type} needs "key": the name of a setting')
    return key


def register_config_commands(
    journal: CommandJournal, config: HubConfig, changed: Callable[[], None]
) -> None:
    def config_get(command: WanCommand, tx: Tx) -> dict[str, Any]:
        key = _key(command, required=False)
        if key is None:
            return {"settings": config.snapshot()}
        return {"key": key, "value": config.get(key, tx)}

    def config_set(command: WanCommand, tx: Tx) -> dict[str, Any]:
        key = _key(command, required=True)
        assert key is not None
        if "value" not in command.args:
            raise ConfigRefused('config_set needs "value" (null removes a rule)')
        change = config.set(key, command.args["value"], by="head-end", tx=tx)
        changed()
        return change

    journal.register_local(CommandType.CONFIG_GET, config_get)
    journal.register_local(CommandType.CONFIG_SET, config_set)
