#!/bin/sh
# The closed-loop demo's "rollback": heal runs it as an argv (no shell builds it) with the site
# and the version to go back to; it puts the demo's traffic generator back on the good version.
set -eu
site=$1 version=$2
echo "$version" > build/demo/heal/version
echo "rolled $site back to $version"
