# A CSV report: fields into arrays, grouping in associative arrays, a formatted table.
declare -A total count oldest
header=""
while IFS=, read -r name age city score; do
    if [[ -z $header ]]; then header="$name $age $city $score"; continue; fi
    total[$city]=$(( ${total[$city]:-0} + score ))
    count[$city]=$(( ${count[$city]:-0} + 1 ))
    if (( age > ${oldest_age[$city]:-0} )); then
        declare -A oldest_age
        oldest_age[$city]=$age
        oldest[$city]=$name
    fi
done < /corpus/data/people.csv
echo "columns: $header"
printf '%-8s %5s %7s %s\n' city n avg oldest
for city in $(printf '%s\n' "${!total[@]}" | sort); do
    avg=$(( total[$city] * 10 / count[$city] ))
    printf '%-8s %5d %5d.%d %s\n' "$city" "${count[$city]}" $((avg / 10)) $((avg % 10)) "${oldest[$city]}"
done
best=$(sort -t, -k4,4nr /corpus/data/people.csv | head -n 1 | cut -d, -f1)
echo "best score: $best"
awk -F, 'NR > 1 { print $3 }' /corpus/data/people.csv | sort | uniq -c | sort -k1,1nr -k2 | awk '{ printf "%s=%s ", $2, $1 } END { print "" }'
