"""Run one command; write its wall time, CPU time, peak RSS and exit status as JSON.

    python -I -S measure_child.py RESULT.json COMMAND [ARG...]

Why a launcher: on Linux a child's ru_maxrss starts at the high-water RSS of the process it
was spawned from (exec records the old address space's peak), so a command spawned straight
from the benchmark (hundreds of MB after generating data) would report at least that much.
Spawned from this small interpreter instead, the floor is this launcher's own few MB, which
the benchmark measures (by running `true`) and reports. Deliberately imports nothing heavy.
"""

import os
import sys
import time


def main() -> int:
    result, cmd = sys.argv[1], sys.argv[2:]
    t0 = time.perf_counter()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    line = (
        f'{{"wall_s": {wall!r}, "cpu_s": {ru.ru_utime + ru.ru_stime!r}, '
        f'"peak_rss_bytes": {ru.ru_maxrss * 1024}, "exit": {code}}}\n'
    )
    with open(result, "w") as fh:
        fh.write(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
