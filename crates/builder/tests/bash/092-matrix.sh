# A 3x3 matrix product and transpose in flat arrays, printed with printf.
n=3
a=(1 2 3 4 5 6 7 8 9)
b=(9 8 7 6 5 4 3 2 1)
declare -a c
for ((i = 0; i < n; i++)); do
    for ((j = 0; j < n; j++)); do
        sum=0
        for ((k = 0; k < n; k++)); do
            ((sum += a[i * n + k] * b[k * n + j]))
        done
        c[i * n + j]=$sum
    done
done
print_m() {
    local -n m=$1
    local i j
    for ((i = 0; i < n; i++)); do
        for ((j = 0; j < n; j++)); do printf '%5d' "${m[i * n + j]}"; done
        echo
    done
}
echo "a*b:"; print_m c
declare -a t
for ((i = 0; i < n; i++)); do for ((j = 0; j < n; j++)); do t[j * n + i]=${a[i * n + j]}; done; done
echo "transpose(a):"; print_m t
trace=0
for ((i = 0; i < n; i++)); do ((trace += c[i * n + i])); done
echo "trace(a*b)=$trace"
