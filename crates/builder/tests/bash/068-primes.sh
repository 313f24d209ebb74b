# Sieve of Eratosthenes and trial division with arrays and arithmetic.
limit=120
declare -a composite
for ((i = 2; i * i <= limit; i++)); do
    ((composite[i])) && continue
    for ((j = i * i; j <= limit; j += i)); do composite[j]=1; done
done
primes=()
for ((i = 2; i <= limit; i++)); do ((composite[i])) || primes+=($i); done
echo "${#primes[@]} primes up to $limit"
echo "${primes[@]:0:15}"
echo "last: ${primes[-1]}"
is_prime() {
    local n=$1 d
    ((n < 2)) && return 1
    for ((d = 2; d * d <= n; d++)); do ((n % d)) || return 1; done
    return 0
}
for n in 1 2 97 221 1009; do
    is_prime $n && echo "$n is prime" || echo "$n is not prime"
done
factor_of() {
    local n=$1 d=2 out=""
    while ((n > 1)); do
        if ((n % d == 0)); then out+="$d "; n=$((n / d)); else d=$((d + 1)); fi
    done
    echo "${out% }"
}
echo "360 = $(factor_of 360)"
echo "9991 = $(factor_of 9991)"
factor 360 9991
