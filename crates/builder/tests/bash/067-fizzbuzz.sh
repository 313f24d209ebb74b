# FizzBuzz three ways: if chains, case on a computed key, and an arithmetic table.
for ((i = 1; i <= 15; i++)); do
    if ((i % 15 == 0)); then echo FizzBuzz
    elif ((i % 3 == 0)); then echo Fizz
    elif ((i % 5 == 0)); then echo Buzz
    else echo $i; fi
done | paste -sd' '
for i in {1..15}; do
    case $((i % 3 == 0))$((i % 5 == 0)) in
        11) printf 'FizzBuzz ' ;;
        10) printf 'Fizz ' ;;
        01) printf 'Buzz ' ;;
        *) printf '%d ' $i ;;
    esac
done
echo
words=([3]=Fizz [5]=Buzz)
for i in $(seq 1 15); do
    out=""
    for d in 3 5; do ((i % d)) || out+=${words[d]}; done
    printf '%s ' "${out:-$i}"
done
echo
