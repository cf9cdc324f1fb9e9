"""Channels: snapshots, finished states, the closed flag, and what pickles where."""

from __future__ import annotations

import pickle

import pytest

from unitune import Trial, TrialState
from unitune.pruners import PrunerError, TrialReports
from unitune.pruners.channel import LocalChannel, ManagerChannel


@pytest.mark.parametrize("make", [LocalChannel, ManagerChannel])
def test_a_channel_holds_reports_states_and_the_closed_flag(make):
    channel = make()
    try:
        channel.publish(0, 1, 0.5)
        channel.publish(1, 1, 0.7)
        channel.finish(Trial(0, {}, TrialState.COMPLETE, (0.4,), intermediate={1: 0.5, 2: 0.4}))
        history = channel.history("minimize", own=TrialReports(1, TrialState.RUNNING, {2: 0.6}))
        assert dict(history.trials[0].steps) == {1: 0.5, 2: 0.4}
        assert history.trials[0].state is TrialState.COMPLETE
        assert dict(history.trials[1].steps) == {2: 0.6}  # its own view, not the channel's
        assert history.trials[1].state is TrialState.RUNNING
        assert history.closed is False
        seen: set = set()
        assert channel.new_reports(seen) == [(0, 1, 0.5), (0, 2, 0.4), (1, 1, 0.7)]
        assert channel.new_reports(seen) == []
        channel.close(4)
        closed = channel.history("minimize")
        assert (closed.closed, closed.asked) == (True, 4)  # trials 0-3 were asked, 2 and 3 silent so far
        # A finished record replaces what the channel held for the trial (a dead attempt's steps).
        channel.publish(1, 5, 0.01)
        channel.finish(Trial(1, {}, TrialState.PRUNED, intermediate={1: 0.7}))
        assert dict(channel.history("minimize").trials[1].steps) == {1: 0.7}
    finally:
        channel.shutdown()


def test_a_manager_channel_pickles_to_the_same_store():
    channel = ManagerChannel()
    try:
        copy = pickle.loads(pickle.dumps(channel))
        copy.publish(3, 2, 1.5)
        assert dict(channel.history("maximize").trials[3].steps) == {2: 1.5}
    finally:
        channel.shutdown()


def test_a_local_channel_refuses_to_leave_its_process():
    with pytest.raises(PrunerError, match="a LocalChannel stays in its process"):
        pickle.dumps(LocalChannel())
