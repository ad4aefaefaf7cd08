#!/bin/sh
cd /app && exec python3 main.py "$@"
