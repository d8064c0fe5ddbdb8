#!/usr/bin/env bash
# Seed a registry with the base images your builds use, in one `acr-import sync` run.
#
#   ACR_NAME=myregistry ./seed-base-images.sh                 # the list below
#   ACR_NAME=myregistry ./seed-base-images.sh images.txt      # one "source [target]" per line
#
# Sign in first (az login, a service principal in AZURE_* variables, or docker login to the
# target). For Docker Hub sources, set ACR_IMPORT_SOURCE_USERNAME / ACR_IMPORT_SOURCE_PASSWORD
# with ACR_IMPORT_SOURCE_REGISTRY=docker.io to avoid anonymous pull limits (the token then goes
# to Docker Hub only). Until the package is published, ACR_IMPORT="npx --yes ./acr-import-0.1.0.tgz".
# Re-running is cheap: an image already in place is a HEAD request. The list becomes a sync file
# (see mirror.yaml for what one can say: tag ranges, regexes, platforms); one process copies it
# all, signing in once per registry and copying a layer shared by several images once.
set -euo pipefail

: "${ACR_NAME:?set ACR_NAME to the target registry name or login server}"
ACR_IMPORT=${ACR_IMPORT:-"npx --yes acr-import@0.1.0"}

default_images() {
  cat <<'LIST'
docker.io/library/alpine:3.20
docker.io/library/debian:bookworm-slim
docker.io/library/node:20-alpine        base/node:20-alpine
mcr.microsoft.com/dotnet/runtime:8.0    base/dotnet-runtime:8.0
LIST
}

if [ $# -gt 0 ]; then list=$(cat "$1"); else list=$(default_images); fi

file=$(mktemp "${TMPDIR:-/tmp}/seed-base-images-XXXXXX")
trap 'rm -f "$file"' EXIT
echo "images:" > "$file"
while read -r source target; do
  [ -z "${source}" ] || [ "${source:0:1}" = "#" ] && continue
  printf '  - source: "%s"\n' "$source" >> "$file"
  if [ -n "${target:-}" ]; then printf '    repository: "%s"\n' "$target" >> "$file"; fi
done <<< "$list"

# Exit 10 when some images failed: the others are in place, and the summary says which.
# shellcheck disable=SC2086 # ACR_IMPORT may be a command with arguments
$ACR_IMPORT sync "$file" --target "$ACR_NAME" ${ACR_IMPORT_FLAGS:-}
