# Fibonacci: iterative, memoised recursion in an associative array, big values.
fib_iter() {
    local a=0 b=1 i
    for ((i = 0; i < $1; i++)); do ((b = a + b, a = b - a)); done
    echo $a
}
declare -A memo=([0]=0 [1]=1)
fib_memo() {
    local n=$1
    if [[ -z ${memo[$n]+x} ]]; then
        fib_memo $((n - 1)); fib_memo $((n - 2))
        memo[$n]=$(( memo[$((n - 1))] + memo[$((n - 2))] ))
    fi
}
fib_memo 40
echo "fib(40) memo=${memo[40]} iter=$(fib_iter 40)"
echo "fib(92)=$(fib_iter 92)"
echo "fib(93) overflows: $(fib_iter 93)"
fib_seq() {
    local a=0 b=1 i out=""
    for ((i = 0; i < $1; i++)); do out+="$a "; ((b = a + b, a = b - a)); done
    echo "$out"
}
fib_seq 16
echo "the tenth by substitution: $(fib_iter 10)"
echo "memo holds ${#memo[@]} entries"
