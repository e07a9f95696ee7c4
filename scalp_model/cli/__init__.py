"""``python -m scalp_model``: predict, info, bench, train, evaluate, quantize, crossval, register.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and ``main(args) -> int``;
this file only wires them together so that importing one command never loads the others.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from config import ConfigurationError

COMMANDS = {
    "predict": ("scalp_model.cli.predict", "Predict psoriasis vs seborrheic dermatitis for image files."),
    "info": ("scalp_model.cli.info", "Print the model card of a checkpoint."),
    "bench": ("scalp_model.cli.bench", "Reproduce the paper's Table 1 timings on this machine."),
    "train": ("scalp_model.cli.train", "Train a checkpoint with the paper's recipe."),
    "evaluate": ("scalp_model.cli.evaluate", "Evaluate a checkpoint on a labelled image folder."),
    "quantize": ("scalp_model.cli.quantize", "Calibrate int8 CPU inference and record what it changes."),
    "crossval": ("scalp_model.cli.crossval", "Group k-fold cross-validation of the shipped recipe (linear probe)."),
    "register": ("scalp_model.cli.register", "Add a checkpoint and its model card to the model registry."),
}


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scalp_model", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        # Arguments are added lazily below, only for the chosen command, to keep start-up fast.
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = get_args_parser()
    if argv and argv[0] in COMMANDS:
        module = importlib.import_module(COMMANDS[argv[0]][0])
        sub = argparse.ArgumentParser(prog=f"python -m scalp_model {argv[0]}", description=COMMANDS[argv[0]][1])
        module.add_arguments(sub)
        args = sub.parse_args(argv[1:])
        try:
            return int(module.main(args) or 0)
        except ConfigurationError as exc:  # a bad SCALPSCOPE_* setting: say which, no traceback
            print(f"error: {exc}", file=sys.stderr)
            return 2
    parser.parse_args(argv)  # prints usage / errors for unknown commands
    return 2
