"""A small report service: reads a YAML config, renders a table with jinja2."""

import sys

import yaml

from report.table import render


def main(argv):
    config = yaml.safe_load(open(argv[1])) if len(argv) > 1 else {"rows": 3}
    print(render(config.get("rows", 3)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
