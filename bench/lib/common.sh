# bench/lib/common.sh: logging, the results file and the template substitution step.
# Sourced by bench/run; expects HERE (bench/) and OUT (bench/out/) to be set.

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { echo "bench/run: $*" >&2; exit 1; }

# The machine-readable results: one line per figure, tab-separated
#   ROUND  TARGET  METRIC  VALUE
# ROUND is 0 for figures that belong to the whole run (settings, environment, checks, memory).
# bench/report renders the Markdown from this file alone.
RES="$OUT/results.tsv"
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$RES"; }

# render TEMPLATE OUTPUT NAME=VALUE...: copy bench/templates/TEMPLATE to OUTPUT with every
# {{NAME}} replaced by its VALUE. A placeholder left without a value is an error, so a template
# and its caller cannot drift apart silently.
render() {
  local name=$1 out=$2 text kv key; shift 2
  text=$(<"$HERE/templates/$name")
  for kv in "$@"; do
    key=${kv%%=*}
    text=${text//"{{$key}}"/"${kv#*=}"}   # quoted: no '&' expansion (bash 5.2 patsub_replacement)
  done
  if [[ $text =~ \{\{([A-Za-z_]+)\}\} ]]; then die "template $name: no value given for {{${BASH_REMATCH[1]}}}"; fi
  printf '%s\n' "$text" > "$out"
}
