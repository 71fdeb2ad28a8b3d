"""Print statistics of a git repository without changing it.

Only plumbing that reads is used (rev-list, log, ls-files). Repository configuration is not
trusted: hooks, fsmonitor, pagers and external diff drivers are switched off, and the system and
global configuration are ignored, so a hostile .git/config cannot make git run a program.
"""

import collections
import os
import subprocess
import sys

SAFE = [
    "-c", "core.fsmonitor=false",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.pager=cat",
    "-c", "diff.external=",
    "-c", "safe.directory=*",
]


def git(repo, *args):
    env = {
        "PATH": "/usr/bin:/bin",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",
        "HOME": os.environ.get("HOME", "/tmp"),
    }
    result = subprocess.run(["git", *SAFE, "-C", repo, "--no-pager", *args],
                            capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"error: git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def main(argv):
    if len(argv) != 1:
        print("usage: stats.py REPO", file=sys.stderr)
        return 2
    repo = argv[0]
    if not os.path.isdir(repo):
        print(f"error: {repo} is not a directory", file=sys.stderr)
        return 2
    log = git(repo, "log", "--no-merges", "--format=%an\t%ad", "--date=short")
    rows = [line.split("\t", 1) for line in log.splitlines() if "\t" in line]
    authors = collections.Counter(name for name, _ in rows)
    months = collections.Counter(date[:7] for _, date in rows)
    files = git(repo, "ls-files").splitlines()
    kinds = collections.Counter(os.path.splitext(f)[1].lower() or "(none)" for f in files)
    total = git(repo, "rev-list", "--count", "HEAD").strip()
    print(f"repository: {repo}")
    print(f"commits: {total} ({len(rows)} without merges)")
    if rows:
        dates = sorted(date for _, date in rows)
        print(f"first commit: {dates[0]}")
        print(f"last commit: {dates[-1]}")
    print(f"authors: {len(authors)}")
    for name, count in authors.most_common(10):
        print(f"  {count:6d}  {name}")
    print(f"tracked files: {len(files)}")
    for ext, count in kinds.most_common(10):
        print(f"  {count:6d}  {ext}")
    print("busiest months:")
    for month, count in sorted(months.items(), key=lambda kv: (-kv[1], kv[0]))[:6]:
        print(f"  {count:6d}  {month}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
