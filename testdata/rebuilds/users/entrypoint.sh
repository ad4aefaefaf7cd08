#!/bin/sh
echo "running as $(id -un) with $(cat /etc/app/app.conf)"
