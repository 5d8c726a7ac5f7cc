"""Push DVC's run-cache with the output files it needs: `dvc push --run-cache`, completed.

With the run-cache on the remote, `dvc repro --pull` or `dvc exp run --pull` in another
clone restores a stage that anyone already ran with the same code, params and inputs
instead of running it again. A restore needs every output of that run, in this project
including the `cache: false` ones (metrics/loss/*.csv of train, metrics/*.json of
evaluate), which DVC copies into the local cache for the run-cache. `dvc push
--run-cache` (dvc 3.67.1) uploads the run records only: its push collects the outputs
of dvc.lock, which leaves out `cache: false` outputs, and never those of the run
records (dvc/repo/push.py passes no `used_run_cache` on). Another clone then finds the
record, misses the loss curve and trains again. This script uploads the records and
every file they name that is in the local cache.

    python tools/push_run_cache.py [-r REMOTE]     # in a checkout, after dvc repro/exp run
"""

import argparse
import sys

from dvc.repo import Repo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--remote", help="DVC remote name (default: the default remote)")
    args = parser.parse_args(argv)
    with Repo() as repo:
        records = repo.stage_cache.push(args.remote)  # what `dvc push --run-cache` adds
        pushed = missing = 0
        for odb, objs in repo.stage_cache.get_used_objs(records).items():
            result = repo.cloud.push(objs, remote=args.remote, odb=odb)
            pushed += len(result.transferred)
            missing += len(result.failed)
    print(f"{len(records)} run records and {pushed} output files pushed"
          + (f"; {missing} files named by the records are not in the local cache" if missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
