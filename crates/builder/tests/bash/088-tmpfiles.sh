# Temporary files in /tmp: mktemp, its permissions, cleanup with traps, /tmp's sticky bit.
stat -c '%a' /tmp
t=$(mktemp)
[[ $t == /tmp/tmp.* ]] && echo "mktemp made a file in /tmp"
stat -c '%a %s' "$t"
echo "data" > "$t"
d=$(mktemp -d)
stat -c '%a %F' "$d"
cp "$t" "$d/copy"
ls "$d"
trap 'rm -rf "$t" "$d"; echo "cleaned up"' EXIT
cat "$d/copy"
t2=$(mktemp /tmp/custom.XXXXXX)
[[ -f $t2 && ${#t2} -eq 18 ]] && echo "template honoured"
rm "$t2"
umask
umask 077
touch /tmp/private
stat -c '%a' /tmp/private
umask 022
mkdir /tmp/public
stat -c '%a' /tmp/public
ls -ld /tmp | cut -c1-10
