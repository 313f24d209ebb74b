# A small text pipeline end to end: tokenise, normalise, count, report with awk and printf.
text=$(cat /corpus/data/words.txt)
words=$(tr -cs '[:alpha:]' '\n' <<< "$text" | tr '[:upper:]' '[:lower:]' | grep -v '^$')
echo "words: $(wc -l <<< "$words")"
echo "unique: $(sort -u <<< "$words" | wc -l)"
echo "longest: $(awk '{ print length, $0 }' <<< "$words" | sort -k1,1nr -k2 | head -n 1 | cut -d' ' -f2)"
sort <<< "$words" | uniq -c | sort -k1,1nr -k2 | head -n 3 | while read -r n w; do
    printf '%-8s %s\n' "$w" "$(printf '%*s' "$n" '' | tr ' ' '#')"
done
vowels=$(tr -cd 'aeiou' <<< "$text" | wc -c)
echo "vowels: $vowels"
awk '{ n += NF; c += length($0) + 1 } END { printf "avg words/line %.1f, chars %d\n", n / NR, c }' <<< "$text"
sed -n 's/\bthe\b/THE/gp' <<< "$text" | head -n 2
nl -ba /corpus/data/words.txt | tail -n 2
fold -w 20 <<< "${text%%$'\n'*}"
