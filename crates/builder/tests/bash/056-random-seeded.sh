# $RANDOM with a seed is a fixed sequence; shuffles and dice from it; reseeding.
RANDOM=42
first=()
for i in 1 2 3 4 5; do first+=($RANDOM); done
echo "seed 42: ${first[*]}"
RANDOM=42
again=()
for i in 1 2 3 4 5; do again+=($RANDOM); done
[[ ${first[*]} == "${again[*]}" ]] && echo "reseeding repeats the sequence"
RANDOM=7
rolls=""
for i in {1..12}; do rolls+="$((RANDOM % 6 + 1)) "; done
echo "dice: $rolls"
RANDOM=2024
cards=(A 2 3 4 5 6 7 8 9 10 J Q K)
for ((i = ${#cards[@]} - 1; i > 0; i--)); do
    j=$((RANDOM % (i + 1)))
    tmp=${cards[i]}; cards[i]=${cards[j]}; cards[j]=$tmp
done
echo "shuffled: ${cards[*]}"
RANDOM=1
sub=$(echo $RANDOM)
echo "subshell draws a number in range: $(( sub >= 0 && sub < 32768 ))"
RANDOM=99
echo "range check: $(( RANDOM < 32768 ))"
