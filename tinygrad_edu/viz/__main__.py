"""`python -m tinygrad_edu.viz`: write a backward page (one self-contained HTML file).

    python -m tinygrad_edu.viz --notes -o tour.html           # the notes' worked examples
    python -m tinygrad_edu.viz script.py -o page.html         # the tensor `loss` the script makes
    python -m tinygrad_edu.viz script.py --tensor out --params model -o page.html

The script runs as `__main__`; it should build the tensor and leave `backward()` to the page.
`--params` names a dict of tensors or a Module in the script (its layers can then be collapsed).
"""
from __future__ import annotations

import argparse
import runpy
import sys

from .page import backward_page
from .worked import write_notes_page


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinygrad_edu.viz", description=__doc__.splitlines()[0])
    parser.add_argument("script", nargs="?", help="a Python script that builds the tensor")
    parser.add_argument("--notes", action="store_true", help="the course notes' worked examples")
    parser.add_argument("--tensor", default="loss", help="the script's variable to run backward() on")
    parser.add_argument("--params", help="the script's variable naming the leaves (a dict or a Module)")
    parser.add_argument("-o", "--output", default="backward.html", help="the page to write")
    args = parser.parse_args(argv)
    if args.notes == bool(args.script):
        parser.error("give a script or --notes (one of them)")
    if args.notes:
        path = write_notes_page(args.output)
    else:
        namespace = runpy.run_path(args.script, run_name="__main__")
        for name in filter(None, (args.tensor, args.params)):
            if name not in namespace:
                parser.error(f"{args.script} defines no variable {name!r} at top level")
        params = namespace[args.params] if args.params else None
        try:
            path = backward_page(namespace[args.tensor], args.output, params, title=f"{args.script}: {args.tensor}")
        except RuntimeError as e:  # the script ran backward() itself: the graph is gone
            parser.error(f"cannot run backward() on {args.tensor!r}: {e}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
