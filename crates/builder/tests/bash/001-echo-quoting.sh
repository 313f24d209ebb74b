# echo and quoting: single, double, ANSI-C, escapes, word splitting of quotes.
echo plain words   with   spaces
echo "double   quoted   keeps spaces"
echo 'single $HOME `not run`'
name=world
echo "hello, $name" 'hello, $name' "hello, ${name}!"
echo -n "no newline"; echo " <- joined"
echo -e 'tab\there\nnewline'
echo -E 'raw\tbackslash'
echo $'ansi-c: \x41\x42\x43 \u00e9 \101 \\ \' done'
echo "nested \"quotes\" and \$dollar and \\backslash"
echo "a"'b'"c"$'d'
empty=""
echo "[${empty}]" [$empty] "[$empty]"
set -- "one two" three
echo "$#:" "$1" "$2"
for w in "$@"; do echo "<$w>"; done
for w in $*; do echo "{$w}"; done
echo "$*"
IFS=:
echo "$*"
