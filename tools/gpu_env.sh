# gpu_env.sh — source on the GPU machine (no network there): makes carried
# dependencies visible.  .deps/root holds Debian packages unpacked with dpkg -x
# (libcjson); .whl holds Python wheels (diffusers).  Both are git-ignored and
# travel with `carry`.  Prepare them on the dev machine with tools/gpu_prepare.sh.
if [ -d .deps/root ]; then
  D=$PWD/.deps/root
  mkdir -p /tmp/spadit-pc
  for pc in "$D"/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc; do
    sed "s#^libdir=.*#libdir=$D/usr/lib/x86_64-linux-gnu#; s#^includedir=.*#includedir=$D/usr/include#; s#^prefix=.*#prefix=$D/usr#" \
      "$pc" > /tmp/spadit-pc/"$(basename "$pc")"
  done
  export PKG_CONFIG_PATH=/tmp/spadit-pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  export LD_LIBRARY_PATH=$D/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONUNBUFFERED=1
