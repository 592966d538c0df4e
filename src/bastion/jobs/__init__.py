"""Fan-out jobs: rescans and bulk imports split into chunks that any number of workers run.

`service` starts, cancels, resumes and reads jobs; `tasks` registers the chunk tasks
(`rescan.chunk` on the `rescan` queue, `import.chunk` on `import`), dispatched like every
other task: in-process without a broker, by Celery workers with one.
"""

from bastion.jobs.models import FanoutJob, JobChunk

__all__ = ["FanoutJob", "JobChunk"]
