"""Tiny app used by scripts/real-rebuilds.sh."""
import os

import six

from util.helpers import greeting


def main():
    print(greeting(os.environ.get("APP_MODE", "dev")))
    print("six", six.__version__)


if __name__ == "__main__":
    main()
