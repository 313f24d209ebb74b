# read -t: timeouts on a pipe that stays silent, fractional timeouts, data in time.
{ sleep 1; echo late; } | {
    read -r -t 0.2 line
    echo "timed out: status $? line=[$line]"
}
{ echo prompt-data; sleep 0.3; } | {
    read -r -t 5 line
    echo "in time: status $? line=[$line]"
}
{ printf 'partial'; sleep 1; } | {
    read -r -t 0.2 line
    echo "partial then timeout: status $? line=[$line]"
}
read -r -t 1 from_file < /corpus/data/words.txt
echo "a file never times out: $? [$from_file]"
read -t -1 x < /dev/null
echo "negative timeout: $?"
TMOUT=0.2
{ sleep 1; echo x; } | { read -r v; echo "TMOUT applies to read: status $?"; }
