# type, command -v/-V, hash: builtins, keywords, functions, aliases, files on PATH.
myfunc() { echo hi; }
type -t echo if myfunc ls nosuch
echo "type -t status $?"
type echo
type -a echo
type myfunc
type -P sort
command -v sort
command -v cd
command -v nosuch || echo "command -v: not found ($?)"
command -V printf
command ls -d /corpus
command echo "command bypasses functions"
echo() { builtin echo "wrapped: $*"; }
echo hello
command echo "not wrapped"
unset -f echo
hash
hash -r
sort /dev/null
hash -t sort
hash | sed 's/^ *[0-9]*//'
hash -d sort; echo "hash -d: $?"
hash nosuchcmd; echo "hash missing: $?"
shopt -s expand_aliases
alias ll='ls -d'
type ll
ll /tmp
unalias ll
type -t ll || echo "alias gone"
enable -a | grep -c enable
