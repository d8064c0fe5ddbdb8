#!/usr/bin/env bash
# Diagnostic: a relay with no Node in it. Each blob is read from the source registry by one curl
# and piped into another curl's upload PUT on the target (POST a session, PUT ?digest= with the
# bytes), 8 at a time (or [parallel]), checking nothing; then the manifests are PUT from files, children before
# parents. What a native relay costs on this machine, for cpu-split.ts; not part of the bench.
#   bench/tools/curl-relay.sh <sourceUrl> <sourceRepo> <targetUrl> <targetRepo> <tag> <plan> [parallel]
# plan: lines `blob <digest> <size>` and `manifest <depth> <digest> <mediaType> <path>`.
set -euo pipefail
src=$1 srcRepo=$2 tgt=$3 tgtRepo=$4 tag=$5 plan=$6 parallel=${7:-8}

relay() { # digest size
  local loc sep
  loc=$(curl -sSf -D - -o /dev/null -X POST -H 'Content-Length: 0' "$tgt/v2/$tgtRepo/blobs/uploads/" | tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
  case $loc in http*) ;; *) loc=$tgt$loc ;; esac
  sep='&'
  [[ $loc == *\?* ]] || sep='?'
  # The length is known: no chunked encoding beside it (a proxy refuses both at once).
  curl -sSf "$src/v2/$srcRepo/blobs/$1" | curl -sSf -o /dev/null -T - -H "Content-Length: $2" -H 'Transfer-Encoding:' -H 'Content-Type: application/octet-stream' -H 'Expect:' "$loc${sep}digest=$1"
}

running=0
while read -r kind digest size; do
  [ "$kind" = blob ] || continue
  if ((running >= parallel)); then wait -n; running=$((running - 1)); fi
  relay "$digest" "$size" </dev/null &
  running=$((running + 1))
done <"$plan"
while ((running > 0)); do wait -n; running=$((running - 1)); done

for depth in $(awk '$1 == "manifest" { print $2 }' "$plan" | sort -rnu); do
  pids=()
  while read -r kind d digest type path; do
    [ "$kind" = manifest ] && [ "$d" = "$depth" ] || continue
    ref=$digest
    [ "$depth" = 0 ] && ref=$tag
    curl -sSf -o /dev/null -X PUT -H "Content-Type: $type" --data-binary "@$path" "$tgt/v2/$tgtRepo/manifests/$ref" </dev/null &
    pids+=($!)
  done <"$plan"
  for p in "${pids[@]}"; do wait "$p"; done
done
