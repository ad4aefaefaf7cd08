# The images of the demo monorepo that ships with imgver (see demo/). It
# publishes to a local registry on localhost:5000, where scripts/demo.sh also
# mirrors its base images (library/...).
# Paths are relative to this file.

pin_file        = "scripts/image_versions.src"
registry        = "localhost:5000/acme"
sha_length      = 7
release_pattern = "^(v|release-)[0-9]+\\.[0-9]+\\.[0-9]+$"

image "api-gateway" {
  var        = "apigateway"
  repository = "localhost:5000/acme/vro-api-gateway"
  dockerfile = "demo/api-gateway/Dockerfile"
  context    = "demo/api-gateway"
  candidate  = "oci:demo/build/{name}"
}

image "svc-lighthouse-api" {
  dockerfile = "demo/svc-lighthouse/Dockerfile"
  context    = "demo/svc-lighthouse"
  candidate  = "oci:demo/build/{name}"
  ignore     = ["/app/instance/*.log"]
}

image "svc-bie-kafka" {
  dockerfile = "demo/svc-bie-kafka/Dockerfile"
  context    = "demo/svc-bie-kafka"
  candidate  = "oci:demo/build/{name}"
}

image "postgres" {
  var        = "postgres"
  dockerfile = "demo/postgres/Dockerfile"
  context    = "demo/postgres"
  candidate  = "oci:demo/build/{name}"
}

image "console" {
  dockerfile = "demo/console/Dockerfile"
  context    = "demo/console"
  candidate  = "oci:demo/build/{name}"
}
