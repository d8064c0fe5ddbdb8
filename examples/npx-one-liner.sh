#!/usr/bin/env bash
# The whole job in one line: import an image (every platform, every digest kept) into a registry.
npx --yes acr-import@0.1.0 --name "${ACR_NAME:-myregistry}" --source "${SOURCE:-docker.io/library/hello-world:latest}" --image "${TARGET:-hello-world:latest}"
