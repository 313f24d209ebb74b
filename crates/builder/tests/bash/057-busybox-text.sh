# busybox text tools in pipelines: sort, uniq, wc, cut, tr, head, tail, paste, rev.
words=/corpus/data/words.txt
tr -s ' ' '\n' < $words | sort | uniq -c | sort -k1,1nr -k2 | head -n 5
wc -l < $words
wc -w $words
tr ' ' '\n' < $words | awk '{ print length }' | sort -n | uniq | tr '\n' ' '; echo
cut -d, -f1,3 /corpus/data/people.csv | tail -n +2 | sort -t, -k2,2 -k1,1
cut -c1-5 $words
sort -t, -k4 -n -r /corpus/data/people.csv | head -n 3
sort /corpus/data/numbers.txt -n | uniq | head -3 | paste -sd+ | bc
tr 'a-z' 'n-za-m' <<< "rot thirteen" | tr 'a-z' 'n-za-m'
echo "reverse me" | rev
head -c 13 $words; echo
tail -c 10 $words
seq 1 12 | paste - - - | tr '\t' ,
sort -u <<< $'b\na\nb\nc\na'
tr -d '[:digit:]' <<< "a1b2c3"
tr -cd '[:alpha:]\n' <<< "keep-only letters 123"
uniq -d <<< $'x\nx\ny\nz\nz'
