"""``ibsym reproduce``: run every published-result script in ``derivations/``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ibsym.core.errors import InputError

EPILOG = """examples:
  ibsym reproduce                       # everything, into ./ibsym-out
  ibsym reproduce barrett_dherin_2021_igr --out /tmp/igr
  ibsym reproduce --jobs 1                # one after another, in this process
  ibsym reproduce --scheduler tcp://10.0.0.5:8786   # on a running Dask cluster
parallel: by default the derivations run on a local pool of one process per CPU (--jobs N),
each in a fresh process, longest first; progress lines on stderr; the report lists them by
name whatever the order of completion.  Ctrl-C stops every worker and exits 130 (no report
is written for a partial run).  --budget bounds each derivation and the whole run.
--scheduler ADDRESS submits them to an existing Dask cluster (pip install 'ibsym[dask]'):
workers run each script in a temporary folder and send its files back.
derivation scripts are Python code and run with your rights: reproduce runs only the *.py
files (of derivations/, or of --derivations DIR) that carry the module-level marker
IBSYM_DERIVATION = True (read from the file, not imported) -- pass only folders you trust.
outputs: every file is written atomically; --out is locked (a second run into the same folder
exits 2); summary.json and report.md are written last and list only files that exist.
exit status: 0 all derivations agree with their oracles (and report.pdf was built, or
pdflatex is not installed and --pdf was not given), 1 a mismatch, an error, a result
exported with a failed verification, or a failed PDF build; 2 bad input, --out in use, or
--pdf without pdflatex on the PATH (checked before anything runs)
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce", help="reproduce published results (derivations/)",
                       description="Run the derivation scripts (Python code) in derivations/ (all, or those named), write "
                                   "their LaTeX, JSON and figures and a summary report "
                                   "(report.md, report.pdf with pdflatex) into --out.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", metavar="NAME", help="derivation names (file stems)")
    p.add_argument("--out", default="ibsym-out", help="output folder (default ./ibsym-out)")
    p.add_argument("--quick", action="store_true", help="smaller, faster variants")
    p.add_argument("--derivations", metavar="DIR",
                   help="folder of derivation scripts: its marked *.py files are run as Python "
                        "code (IBSYM_DERIVATION = True)")
    p.add_argument("--list", action="store_true", help="list the derivations and exit")
    p.add_argument("--pdf", action="store_true",
                   help="require report.pdf: exit 2 before running if pdflatex is missing, "
                        "1 if the build fails (default: skipped with a note without pdflatex)")
    p.add_argument("--jobs", metavar="N",
                   help="worker processes of the local pool (default: one per CPU; 1 runs the "
                        "derivations one after another in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on an existing Dask cluster, e.g. tcp://HOST:8786 (needs "
                        "dask.distributed: pip install 'ibsym[dask]')")
    p.set_defaults(handler=run)


#: Largest ``--jobs``: one worker per derivation is the most a run can use.
MAX_JOBS = 1024

#: ``--budget`` default (seconds: every derivation, full size) and what to try past it.
BUDGET_SECONDS = 3600.0
BUDGET_ADVICE = "run fewer derivations (NAME ...) or --quick"


def run(args: argparse.Namespace) -> int:
    from ibsym.reproduce import find_derivations, reproduce
    for option, value in (("--out", args.out), ("--derivations", args.derivations)):
        if value is not None and not value.strip():
            raise InputError(f"{option} needs a folder name (got an empty one)")
    directory = Path(args.derivations) if args.derivations is not None else None
    if directory is not None and not find_derivations(directory):
        raise InputError(f"no derivation scripts in {args.derivations[:80]} (files with "
                         "IBSYM_DERIVATION = True at module level)")
    if args.list:
        for name in find_derivations(directory):
            print(name)
        return 0
    jobs = None
    if args.jobs is not None:
        text = args.jobs.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 4
                and 1 <= int(text) <= MAX_JOBS):
            raise InputError(f"--jobs must be a positive whole number (at most {MAX_JOBS}), "
                             f"got {args.jobs[:40]!r}")
        jobs = int(text)
    res = reproduce(args.names, args.out, quick=args.quick, directory=directory,
                    budget=getattr(args, "budget_obj", None), pdf=args.pdf, jobs=jobs,
                    scheduler=args.scheduler)
    json.dump({"ok": res["ok"], "report": res["report"], "pdf": res["pdf"],
               "results": [{k: r.get(k) for k in ("name", "status", "seconds", "message")}
                           for r in res["results"]]}, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0 if res["ok"] else 1
