# The environment: what bash exports, export/-n, prefix assignments, env -i, printenv.
env | sort | grep -v '^_='
echo "SHLVL=$SHLVL"
export GREETING=hello
env | grep GREETING
LOCAL_ONLY=1
env | grep -c LOCAL_ONLY
PREFIX_VAR=set-for-one env | grep PREFIX_VAR
echo "after the prefix assignment: [${PREFIX_VAR-unset}]"
export -n GREETING
env | grep -q GREETING || echo "GREETING no longer exported"
env -i X=1 Y=2 env | sort
env -i bash -c 'echo "clean child: PATH=[$PATH] HOME=[${HOME-unset}]"' 2>&1
export -p | grep -E 'PATH|LC_ALL'
f() { echo "in function: $FVAR"; }
FVAR=temp f
echo "after: [${FVAR-unset}]"
export ARR=(a b)
bash -c 'echo "arrays are not exported: [${ARR-unset}]"'
declare -x -i NUM=4+4
bash -c 'echo "exported integer: $NUM"'
unset PATH
ls 2>&1 | head -n 1
echo "without PATH: $?"
PATH=/bin
