#!/bin/sh
# The example image's command: the greeting rendered at build time, and
# where and as whom it runs.
cat "$GREETING_FILE"
echo "running as uid $(id -u) in $(pwd)"
