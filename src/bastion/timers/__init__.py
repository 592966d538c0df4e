"""Due work kept as database rows: deadlines, reminders, retention, retries.

`schedule` writes a timer in the caller's transaction; `Ticker.tick` claims due
timers safely from any number of processes and runs the task named by the timer's
kind. Time comes from the injected clock, so tests move it instead of sleeping.
"""

from bastion.timers.service import cancel, pending_for, schedule
from bastion.timers.ticker import Ticker, TickReport

__all__ = ["Ticker", "TickReport", "cancel", "pending_for", "schedule"]
