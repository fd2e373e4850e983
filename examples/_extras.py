"""Optional conveniences for the examples: a progress bar, checkpoints and --resume, figures, and the
options every example shares. Nothing here is needed to understand training; the examples' own files
hold the data, the model and the loop. This module imports nothing from the examples.

Outputs (checkpoints, figures) go under runs/<example>/ in the current folder (git-ignored);
an example prints where they went at the end, and `--save ''` / `--plot ''` skip them.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import tinygrad_edu as torch

RUNS = "runs"  # every example writes into runs/<its name>/ unless told otherwise


def run_dir(name: str) -> str:
    """runs/<name>: the folder an example's default outputs go to (created when something is written)."""
    return os.path.join(RUNS, name)


class Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """--help shows each option's default (none for flags and unset options), the description as written."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:  # `is`: a default of 0 is shown
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose --help lists every option's default, even of options without a help text."""

    def __init__(self, doc: str, **kwargs):
        super().__init__(description=doc.strip().split("\n\n")[0], formatter_class=Formatter, **kwargs)

    def add_argument(self, *args, **kwargs):
        action = super().add_argument(*args, **kwargs)
        if not action.help and not any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            action.help = "(default: %(default)s)"  # argparse shows nothing for an option without a help text
        return action


def parser(doc: str) -> Parser:
    """A parser for an example: its docstring's first paragraph as description, defaults in --help."""
    return Parser(doc)


MNIST_QUICK = "a few thousand images and 1-2 epochs: runs in seconds (for tests and a first look)"


def add_example_args(p: argparse.ArgumentParser, plot: str, quick: str = MNIST_QUICK,
                     figure: str = "the figure") -> argparse.ArgumentParser:
    """--plot (where `figure` is saved; '' to skip), --quick (`quick` says what it changes), --seed."""
    p.add_argument("--plot", default=plot, help=f"where {figure} is saved ('' to skip)")
    p.add_argument("--quick", action="store_true", help=quick)
    p.add_argument("--seed", type=int, default=0, help="random seed: the same numbers run after run")
    return p


# ---------------------------------------------------------------- progress bar

class ProgressBar:
    """tqdm's bar over the images of one epoch, with the running loss; nothing at all when disabled
    or when tqdm is not installed. tqdm shows the one throughput (img/s)."""

    def __init__(self, total: int, desc: str, enabled: bool = True):
        self.bar = None
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=total, desc=desc, unit="img", leave=True, file=sys.stdout)

    def update(self, images: int, loss: float) -> None:
        if self.bar is not None:
            self.bar.update(images)
            self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------- checkpoints

def save_checkpoint(path: str, model, optimizer, scheduler, epoch: int, history: dict) -> None:
    """Model, optimizer and scheduler states, the epoch just finished and the history, in one file."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    ckpt = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch, "history": history}
    if scheduler is not None:
        ckpt["scheduler"] = scheduler.state_dict()
    torch.save(ckpt, path)


def resume(path: str, model, optimizer, scheduler, epochs: int) -> tuple[dict, int]:
    """Restore a checkpoint of save_checkpoint in place and say what will happen; returns (history,
    the first epoch still to train). A missing or unreadable file ends the program with one line."""
    if not os.path.isfile(path):
        sys.exit(f"--resume: no checkpoint at {path!r} (a run writes one with --save PATH)")
    try:
        ckpt = torch.load(path)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None and "scheduler" in ckpt:
            scheduler.load_state_dict(ckpt["scheduler"])
        done, history = int(ckpt["epoch"]), {k: list(v) for k, v in ckpt["history"].items()}
    except (KeyError, RuntimeError, ValueError, OSError) as e:
        sys.exit(f"--resume: {path!r} is not a checkpoint of this example ({type(e).__name__}: {e})")
    if done >= epochs:
        print(f"nothing to train: {path} holds epoch {done} and --epochs is {epochs}. To train more, resume with a "
              f"larger --epochs (e.g. --resume {path} --epochs {done + 5}); a cosine learning rate then rises again "
              f"past its end, as PyTorch's CosineAnnealingLR does.")
    else:
        print(f"resuming from {path}: epochs 1-{done} are done, training epochs {done + 1}-{epochs}")
    return history, done + 1


# ---------------------------------------------------------------- figures

def new_plot(size: tuple[float, float]):
    """A matplotlib Figure of its own (not pyplot's: no display needed, also on a headless machine)."""
    from tinygrad_edu.viz import new_figure
    return new_figure(size)


def save_plot(fig, path: str, say: bool = True) -> None:
    """Save the figure (.png, .svg or .pdf by the suffix), creating its folder; with `say`, say where."""
    from tinygrad_edu.viz import save_figure
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    save_figure(fig, path)
    if say:
        print(f"figure: {path}")


def plot_history(history: dict, path: str, title: str | None = None):
    """The loss and accuracy curves of `history` (per-epoch lists), saved to `path`."""
    from tinygrad_edu.viz import plot_history as draw
    fig = draw(history, title=title)
    save_plot(fig, path, say=False)
    return fig


def print_outputs(*paths: str | None) -> None:
    """One closing line naming the files this run wrote (the empty and None ones were skipped)."""
    written = [p for p in paths if p and os.path.exists(p)]
    if written:
        print("outputs: " + ", ".join(written))
