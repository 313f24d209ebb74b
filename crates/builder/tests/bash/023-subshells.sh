# Subshells: isolated variables and cwd, exit statuses, BASH_SUBSHELL, BASHPID vs $$.
x=1
(x=2; echo "inside x=$x")
echo "outside x=$x"
(cd /tmp && echo "inside pwd=$PWD")
echo "outside pwd=$PWD"
(exit 42)
echo "subshell exit $?"
echo "level $BASH_SUBSHELL $(echo level $BASH_SUBSHELL $(echo level $BASH_SUBSHELL))"
main=$$
( [[ $$ == "$main" ]] && echo "\$\$ is the same in a subshell" )
( [[ $BASHPID != "$main" ]] && echo "BASHPID differs in a subshell" )
[[ $BASHPID == "$main" ]] && echo "BASHPID equals \$\$ at top level"
inner=$(echo $BASHPID)
[[ $inner != "$main" ]] && echo "command substitution has its own BASHPID"
( set -e; false; echo "not printed" )
echo "set -e subshell status $?"
(
    trap 'echo "subshell EXIT trap"' EXIT
    echo "in subshell with trap"
)
echo "after trapped subshell"
f() ( local_var=in-func-subshell; echo "$local_var" )
f
echo "local_var=${local_var-unset}"
{ y=group; }
echo "group command kept y=$y"
( ( ( echo deep ) ) )
