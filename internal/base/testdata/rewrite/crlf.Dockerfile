# Windows-style line endings.
FROM python:3.13-slim AS base
RUN pip install \
    requests

FROM base
CMD ["python"]
