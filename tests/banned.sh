#!/bin/sh
# banned.sh - fails when src/ uses a function banned by style.md §2.6.
top=${top_srcdir:-$(dirname "$0")/..}
pattern='\<(strcpy|strcat|sprintf|strncpy|strtok|sscanf|atoi|gets|alloca)[[:space:]]*\('
hits=$(grep -rnE "$pattern" "$top/src" --include='*.c' --include='*.h' | grep -v '^\s*/\*')
if [ -n "$hits" ]; then
	echo "banned functions used:"
	echo "$hits"
	exit 1
fi
echo "no banned functions in src/"
