# $'...' strings, echo -e, printf %b: control characters, octal, hex, unicode in C locale.
s=$'a\tb\nc'
echo "length ${#s}"
printf '%s' "$s" | od -c | head -n 1 | tr -s ' '
echo $'bell:\a|' | od -An -c | tr -s ' '
echo $'esc:\e[0m' | od -An -tx1 | tr -s ' '
echo $'ctrl-A:\cA|' | od -An -tx1 | tr -s ' '
echo -e 'octal \0101 and hex \x42, stop\c here' ; echo
echo -e 'backslash \\ and \e' | od -An -c | tr -s ' ' | head -n 2
printf '%b\n' 'a\nb' 'c\td'
q=$'single \' inside'
echo "$q"
nul=$'before\0after'
echo "nul truncates: [$nul]"
printf 'tab\x09sep\n' | cut -f2
printf '\u263a\n' | od -An -tx1 | tr -s ' '
printf '%s\n' $'\x7e\x7f' | od -An -tx1 | tr -s ' '
