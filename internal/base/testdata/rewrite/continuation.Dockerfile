FROM \
  # the base
  --platform=linux/arm64 \
	node:20.11.1@sha256:1111111111111111111111111111111111111111111111111111111111111111 \
  AS web
RUN npm ci
FROM scratch
COPY --from=web /app /app