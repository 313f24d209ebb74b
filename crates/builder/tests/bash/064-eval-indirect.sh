# eval and indirection: building commands, dynamic variable names, declare -p round trip.
cmd='echo "built at runtime: $((6 * 7))"'
eval "$cmd"
for i in 1 2 3; do eval "var_$i=\$((i * i))"; done
echo "$var_1 $var_2 $var_3"
name=var_2
echo "indirect: ${!name}"
eval "echo \${$name}"
declare "dyn_x=dynamic"
echo "$dyn_x"
declare -a list=(one "two three")
snapshot=$(declare -p list)
unset list
eval "$snapshot"
echo "restored: ${#list[@]} '${list[1]}'"
declare -A m=([a]=1)
eval "$(declare -p m | sed 's/m=/n=/')"
echo "copied map: ${n[a]}"
eval 'f() { echo "function from eval"; }'
f
eval "set -- x y z"
echo "eval set: $*"
eval 'exit_status=$(false; echo $?)'
echo "status inside eval: $exit_status"
eval 'echo "$1" "$#"'
key=color; value=blue
printf -v "cfg_$key" '%s' "$value"
echo "cfg_color=$cfg_color"
nested='echo level1; eval "echo level2"'
eval "$nested"
