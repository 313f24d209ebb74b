# declare attributes: -i, -l, -u, -x, -r, -a, -A, -p output, -g in functions, -f/-F.
declare -i n=10
n+=5; n=n*2
echo "integer: $n"
n="text"
echo "text into integer: $n"
declare -l lower="MiXeD"
declare -u upper="MiXeD"
echo "$lower $upper"
lower+="APPENDED"
echo "$lower"
declare -x EXPORTED=yes
bash -c 'echo "child sees EXPORTED=$EXPORTED"'
declare +x EXPORTED
bash -c 'echo "after +x: [${EXPORTED-}]"'
declare -p n lower upper
declare -a idx=([2]=two [5]=five)
declare -p idx
declare -A as=([k]="v w")
declare -p as
make_global() { declare -g made_here=global-from-function; local notglobal=x; }
make_global
echo "made_here=$made_here notglobal=${notglobal-unset}"
f1() { :; }; f2() { :; }
declare -F | grep ' f[12]$'
declare -f f1
declare -r const=1
declare -p const
declare -i -r both=7
declare -p both
typeset -i t=3+4
echo "typeset: $t"
