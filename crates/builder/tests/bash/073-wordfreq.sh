# Word frequencies two ways (associative array, sort | uniq), compared.
declare -A freq
while read -r -a words; do
    for w in "${words[@]}"; do
        w=${w,,}
        freq[$w]=$(( ${freq[$w]:-0} + 1 ))
    done
done < /corpus/data/words.txt
mine=$(for w in "${!freq[@]}"; do echo "${freq[$w]} $w"; done | sort -k1,1nr -k2 | head -n 6)
theirs=$(tr ' ' '\n' < /corpus/data/words.txt | sort | uniq -c | sort -k1,1nr -k2 | head -n 6 | awk '{ print $1, $2 }')
echo "$mine"
if [[ $mine == "$theirs" ]]; then echo "both methods agree"; else echo "they differ"; fi
echo "distinct words: ${#freq[@]}"
longest=""
for w in "${!freq[@]}"; do
    (( ${#w} > ${#longest} )) || { (( ${#w} == ${#longest} )) && [[ $w < $longest ]]; } && longest=$w
done
echo "longest word: $longest"
