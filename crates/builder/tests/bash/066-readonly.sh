# readonly variables and functions: assignment errors, unset errors, status codes.
readonly pi=3.14
echo "pi=$pi"
pi=3
echo "status after assigning readonly: $?"
unset pi
echo "status after unset: $?"
readonly -a primes=(2 3 5)
primes+=(7)
echo "primes=${primes[*]}"
f() { echo "original"; }
readonly -f f
f() { echo "redefined"; }
f
readonly | grep -c pi
( pi=1; echo "subshell continues" )
echo "subshell status $?"
declare -r local_ro=1
g() { local local_ro=2; echo "local shadow: $local_ro"; }
g
echo "done with status $?"
