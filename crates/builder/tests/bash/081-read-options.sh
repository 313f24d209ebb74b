# read options on stdin (the .stdin file): -n, -N, -d, -a, -p without a terminal, -s, -u.
read -r first
echo "first line: $first"
read -r -n 3 three
echo "three chars: [$three]"
read -r rest
echo "rest of line: [$rest]"
read -r -d ';' upto
echo "up to ';': [$upto]"
read -r -N 4 exact
echo "exactly 4: [${exact//$'\n'/\\n}]"
read -r -a items
echo "items: ${#items[@]} -> ${items[*]}"
read -r -p "prompt is not shown without a terminal: " answer
echo "answer=$answer"
read -r -s secret
echo "secret has ${#secret} chars"
exec 3< /corpus/data/words.txt
read -r -u 3 fromfd
echo "from fd 3: $fromfd"
read -r
echo "REPLY=[$REPLY]"
IFS= read -r -n 1 c; echo "one char: [$c]"
read -r -t 0; echo "data waiting (read -t 0): $?"
while read -r line; do echo "remaining: $line"; done
read -r after
echo "read at EOF: $? [$after]"
