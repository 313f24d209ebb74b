# set -x: traced commands on stderr with PS4, expansions shown, nested levels.
set -x
echo "traced"
x=$((1 + 2))
arr=(a "b c")
for i in 1 2; do : "$i"; done
f() { local y=$1; echo "$y"; }
f arg
v=$(echo inner)
[[ $x -eq 3 ]] && echo "three"
set +x
echo "untraced"
PS4='+${LINENO}: '
set -x
echo "custom PS4"
cat <<EOF
here-doc body is not traced
EOF
{ set +x; } 2>/dev/null
echo "quiet off"
bash -xc 'echo child traced'
