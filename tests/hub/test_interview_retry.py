"""The hub asks a device of its rig for its interview again while zigpy's has not succeeded: a
request lost because the device was not on the air yet (a premises starting at once) costs one
`FIRST_S`, not zigpy's 28 s reply timeout or the wait for the device's next frame."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

import hub.han.interview_retry as interview_module
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

    def schedule_initialize(self) -> None:
        self.asked += 1
        self.is_initialized = self.asked >= self.answers_at


def _retry(tasks: set[asyncio.Task[None]]) -> InterviewRetry:
    def spawn(coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    return InterviewRetry(SystemClock(), {OURS}, spawn)


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
    asked = device.asked
    await asyncio.sleep(0.1)  # nothing left to ask it: the watch has ended (checked above)
    assert device.asked == asked


async def test_a_stranger_is_not_chased() -> None:
    tasks: set[asyncio.Task[None]] = set()
    application = Application()
    stranger = "00:0d:6f:00:00:00:99:99"
    retry = _retry(tasks)
    retry.device_init_failure(Device(stranger, application, answers_at=2))
    assert not tasks
