"""The hub asks a device of its rig for its interview again while zigpy's has not succeeded: a
request lost because the device was not on the air yet (a premises starting at once) costs one
`FIRST_S`, not zigpy's 28 s reply timeout or the wait for the device's next frame."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

import hub.han.interview_retry as interview_module
from hal.emulated.clock import ManualClock
from hal.ports import Clock
from hal.real.clock import SystemClock
from hub.han.interview_retry import InterviewRetry
from tests.waiting import eventually

OURS = "00:0d:6f:00:00:00:10:01"


@dataclass
class Application:
    devices: dict[str, Any] = field(default_factory=dict)


@dataclass
class Device:
    """What the watch uses of a zigpy device: its interview answers at the `answers_at`th
    asking (zigpy's `schedule_initialize` starts a new interview, cancelling the current)."""

    ieee: str
    application: Application
    answers_at: int
    asked: int = 1  # zigpy asked once already
    is_initialized: bool = False
    last_seen: float | None = None  # when the device last sent the hub anything

    def schedule_initialize(self) -> None:
        self.asked += 1
        self.is_initialized = self.asked >= self.answers_at


def _retry(tasks: set[asyncio.Task[None]], clock: Clock | None = None) -> InterviewRetry:
    def spawn(coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    return InterviewRetry(clock or SystemClock(), {OURS}, spawn)


async def test_an_unanswered_interview_is_asked_again_until_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(interview_module, "FIRST_S", 0.02)
    tasks: set[asyncio.Task[None]] = set()
    application = Application()
    device = application.devices[OURS] = Device(OURS, application, answers_at=3)
    retry = _retry(tasks)
    retry.watch(device)
    retry.watch(device)  # one watch per device
    assert len(tasks) == 1
    await eventually(lambda: not tasks, 5, "the watch ending once the interview is done")
    assert device.is_initialized and device.asked == 3


async def test_a_failed_interview_is_watched_and_a_gone_device_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(interview_module, "FIRST_S", 0.02)
    tasks: set[asyncio.Task[None]] = set()
    application = Application()
    device = application.devices[OURS] = Device(OURS, application, answers_at=100)
    retry = _retry(tasks)
    retry.device_init_failure(device)  # zigpy's listener event
    await eventually(lambda: device.asked >= 2, 5, "the interview asked again")
    del application.devices[OURS]  # the device left the network
    await eventually(lambda: not tasks, 5, "the watch ending")


async def test_a_device_replaced_on_rejoin_is_watched_while_the_old_watch_sleeps() -> None:
    """zigpy makes a new device object when a device rejoins: its interview is chased at
    once, not refused because the old object's watch (asleep) holds the same EUI-64."""
    clock = ManualClock()
    tasks: set[asyncio.Task[None]] = set()
    application = Application()
    old = application.devices[OURS] = Device(OURS, application, answers_at=100)
    retry = _retry(tasks, clock)
    retry.watch(old)
    await clock.run_for(0)
    new = application.devices[OURS] = Device(OURS, application, answers_at=3)
    retry.watch(new)
    assert len(tasks) == 2
    await clock.run_for(interview_module.FIRST_S * 3)  # asked again twice: done
    assert new.is_initialized and new.asked == 3
    assert old.asked == 1  # replaced: left alone
    await clock.run_for(interview_module.MAX_S)
    await eventually(lambda: not tasks, 5, "both watches ending")


async def test_a_slow_interview_that_is_being_answered_is_not_restarted() -> None:
    """On busy cores an interview may take longer than `FIRST_S` while the device answers
    every request: restarting it would only throw its progress away. Once the device goes
    quiet, it is asked again."""
    clock = ManualClock()
    tasks: set[asyncio.Task[None]] = set()
    application = Application()
    device = application.devices[OURS] = Device(OURS, application, answers_at=100)
    retry = _retry(tasks, clock)
    retry.watch(device)
    await clock.run_for(0)
    for step in range(6):
        device.last_seen = float(step)  # a reply to one of the interview's requests
        await clock.run_for(interview_module.FIRST_S)
    assert device.asked == 1
    await clock.run_for(interview_module.FIRST_S)  # nothing heard for a whole period
    assert device.asked == 2
    del application.devices[OURS]
    await clock.run_for(interview_module.MAX_S)
    await eventually(lambda: not tasks, 5, "the watch ending")


async def test_a_stranger_is_not_chased() -> None:
    tasks: set[asyncio.Task[None]] = set()
    application = Application()
    stranger = "00:0d:6f:00:00:00:99:99"
    retry = _retry(tasks)
    retry.device_init_failure(Device(stranger, application, answers_at=2))
    assert not tasks
