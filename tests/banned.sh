#!/bin/sh
# banned.sh - fails when src/ calls a function banned by doc/style.md §5.
# A mention in a comment line (one that starts with /*, * or //) is not a
# call and is let pass. Before scanning src/, the filter proves itself on a
# planted file: a banned call in code must be caught, one in a comment not.
top=${top_srcdir:-$(dirname "$0")/..}
pattern='\<(strcpy|strcat|sprintf|strncpy|strtok|sscanf|atoi|gets|alloca)[[:space:]]*\('

# scan DIR: the banned calls in DIR's C files, as file:line:text.
scan() {
	grep -rnE "$pattern" "$1" --include='*.c' --include='*.h' |
		grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/\*|\*|//)'
}

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/planted.c" <<'EOF'
/* sprintf(buf, "x") in a comment opening line */
 * strcpy(a, b) inside a block comment
	// atoi(s) after a line comment
	n = atoi(s);
EOF
self=$(scan "$tmp")
if [ "$(printf '%s\n' "$self" | grep -c .)" != 1 ] || ! printf '%s' "$self" | grep -q ':4:'; then
	echo "banned.sh self-test: expected only line 4 of the planted file, got:"
	echo "$self"
	exit 99
fi

hits=$(scan "$top/src")
if [ -n "$hits" ]; then
	echo "banned functions used:"
	echo "$hits"
	exit 1
fi
echo "no banned functions in src/"
