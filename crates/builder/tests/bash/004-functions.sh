# Functions: arguments, return codes, recursion, output capture, redefinition.
greet() {
    echo "hello $1 (of $#)"
}
function shout {
    echo "${*^^}"
}
fact() {
    local n=$1
    if (( n <= 1 )); then echo 1; return; fi
    local sub
    sub=$(fact $((n - 1)))
    echo $(( n * sub ))
}
is_even() { (( $1 % 2 == 0 )); }
greet alice bob
shout make this loud
echo "10! = $(fact 10)"
for n in 3 4; do
    if is_even $n; then echo "$n even"; else echo "$n odd"; fi
done
status() { return "$1"; }
status 42; echo "returned $?"
status 300; echo "returned mod 256: $?"
counter=0
bump() { counter=$((counter + 1)); }
bump; bump; bump
echo "counter=$counter"
greet() { echo "redefined greet for $1"; }
greet carol
echo "$(declare -f is_even)"
recurse() { (( $1 > 0 )) && recurse $(( $1 - 1 )); echo -n "$1 "; }
recurse 5; echo
