"""A rig as systemd units, for a Raspberry Pi test rig that runs without a terminal.

`smartmeter rig systemd RIG --out DIR` writes one service per process of the rig (the same
command lines, in the same order as `smartmeter rig up`), and a target that starts them all:

- `Restart=on-failure` with `RestartSec`, `StartLimitBurst` and `StartLimitIntervalSec` from the
  launcher's own `RestartPolicy` (systemd 252, Debian 12's and Raspberry Pi OS's, restarts at a
  fixed `RestartSec`: the launcher's doubling back-off needs `RestartSteps`, systemd 254);
- ordering: each unit `Wants=` and comes `After=` the one before it (broker, air, head-end, hub,
  devices), so clients find their servers up first; all are `PartOf=` the target, so stopping
  the target stops them, last first;
- SIGTERM and 5 s to stop cleanly, as the launcher gives;
- every unit reads `<run_dir>/rig.env`, written here, with the rig's shared start instant for a
  simulated clock (simulated time counts from when the units were written: write them again to
  start the rig's time again).

Only the units are written: installing them needs root (see the README).
"""

from __future__ import annotations

import time
from pathlib import Path

from firmware.rig import BrokerKind, Rig
from firmware.wiring import START_WALL_ENV

from .plan import ProcessSpec, plan_rig
from .supervisor import REPO_ROOT, STOP_GRACE_S, RestartPolicy

__all__ = ["unit_name", "write_units"]


def unit_name(rig: Rig, process: str) -> str:
    return f"smartmeter-{rig.name}-{process}.service"


def target_name(rig: Rig) -> str:
    return f"smartmeter-{rig.name}.target"


def _quote(argument: str) -> str:
    """An ExecStart argument: quoted when it holds anything systemd would split or expand."""
    if argument and all(c.isalnum() or c in "/._-:=+,@" for c in argument):
        return argument
    escaped = (
        argument.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$").replace("%", "%%")
    )
    return f'"{escaped}"'


def _service(rig: Rig, spec: ProcessSpec, previous: str | None, policy: RestartPolicy) -> str:
    env_file = rig.run_dir / "rig.env"
    order = f"Wants={previous}\nAfter={previous}\n" if previous else ""
    return (
        "[Unit]\n"
        f"Description=smart metering rig {rig.name}: {spec.detail}\n"
        f"PartOf={target_name(rig)}\n"
        f"{order}"
        f"StartLimitIntervalSec={policy.interval_s:g}\n"
        f"StartLimitBurst={policy.burst}\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"WorkingDirectory={REPO_ROOT}\n"
        f"Environment=PYTHONPATH={REPO_ROOT}\n"
        "Environment=PYTHONUNBUFFERED=1\n"
        f"EnvironmentFile={env_file}\n"
        f"ExecStart={' '.join(_quote(a) for a in spec.argv)}\n"
        "Restart=on-failure\n"
        f"RestartSec={policy.first_delay_s:g}\n"
        "KillSignal=SIGTERM\n"
        f"TimeoutStopSec={STOP_GRACE_S:g}\n"
        f"StandardOutput=append:{spec.log_path}\n"
        f"StandardError=append:{spec.log_path}\n"
        "\n"
        "[Install]\n"
        f"WantedBy={target_name(rig)}\n"
    )


def write_units(
    rig: Rig,
    out_dir: Path,
    *,
    broker_kind: BrokerKind | None = None,
    policy: RestartPolicy | None = None,
) -> list[Path]:
    """Write the rig's units into `out_dir`; returns their paths, the target last."""
    policy = policy or RestartPolicy()
    out_dir.mkdir(parents=True, exist_ok=True)
    log_dir = rig.run_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    (rig.run_dir / "rig.env").write_text(f"{START_WALL_ENV}={time.time()!r}\n")
    written: list[Path] = []
    previous: str | None = None
    for spec in plan_rig(rig, broker_kind or rig.broker.kind, log_dir):
        name = unit_name(rig, spec.name)
        path = out_dir / name
        path.write_text(_service(rig, spec, previous, policy))
        written.append(path)
        previous = name
    target = out_dir / target_name(rig)
    wants = " ".join(path.name for path in written)
    target.write_text(
        "[Unit]\n"
        f"Description=smart metering rig {rig.name} ({rig.path})\n"
        f"Wants={wants}\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )
    written.append(target)
    return written
