# /dev/stdin, /dev/stdout, /dev/stderr: special files bash and tools open by name.
echo "piped text" | cat /dev/stdin
echo "read via /dev/stdin" | { read -r line < /dev/stdin; echo "$line"; }
printf 'one\ntwo\n' | wc -l /dev/stdin | sed 's/ .*//'
echo "to stdout" > /dev/stdout
echo "to stderr" > /dev/stderr
echo "to stderr via 2>" 2> /dev/stderr
{ echo "stderr captured" > /dev/stderr; } 2>&1 | tr a-z A-Z
printf 'x y z' | cat - /dev/null
cat <<EOF | cat /dev/stdin
here-doc through /dev/stdin
EOF
if [[ -e /dev/stdin ]]; then echo "/dev/stdin exists"; fi
echo abc | sed 's/b/B/' /dev/stdin
