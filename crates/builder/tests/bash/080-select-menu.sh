# select: a menu on stderr, choices from stdin (the .stdin file), EOF ends it.
PS3="choose> "
select fruit in apple banana cherry; do
    if [[ -n $fruit ]]; then
        echo "picked $fruit (reply $REPLY)"
    else
        echo "invalid reply [$REPLY]"
    fi
    [[ $fruit == cherry ]] && break
done
echo "after break"
select x in one two; do echo "got [$x] [$REPLY]"; done
echo "select ended at EOF: $?"
read -r leftover || echo "stdin is exhausted"
