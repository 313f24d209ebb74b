# cd, pwd, OLDPWD, cd -, pushd/popd/dirs, -P vs -L with symlinks, CDPATH.
echo "start: $PWD"
mkdir -p /tmp/d1/sub /tmp/d2
ln -sfn /tmp/d1/sub /tmp/link
cd /tmp/d1 && echo "now $PWD, old $OLDPWD"
cd - 
cd /tmp/link
echo "logical: $(pwd) physical: $(pwd -P)"
cd ..
echo "after .. logically: $PWD"
cd -P /tmp/link && cd .. && echo "after .. physically: $PWD"
pushd /tmp/d2 >/dev/null
pushd /tmp/d1 >/dev/null
dirs
popd >/dev/null
echo "popped to $PWD"
dirs -v
popd >/dev/null
popd
echo "popd on an empty stack: $?"
cd /nonexistent
echo "cd failure: $?"
cd
echo "cd with no args goes HOME: $PWD"
CDPATH=/tmp
cd d2
unset CDPATH
echo "CDPATH found it: $PWD"
cd /tmp/d1/sub/../../d2 && pwd
cd "" ; echo "cd to empty string: $? $PWD"
