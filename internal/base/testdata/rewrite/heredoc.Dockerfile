# syntax=docker/dockerfile:1
FROM	alpine:3.20.3 AS build
RUN <<EOF
FROM python:3.13 AS not-an-instruction
EOF
COPY <<-EOT /etc/motd
	FROM debian:bookworm
	EOT
RUN cat <<A <<B > /x
FROM a:1
A
FROM b:2
B
from  python:3.13-slim   as   Final   
COPY --from=BUILD /x /x
