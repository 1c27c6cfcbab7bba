# Cells of the tables that run.sh and ../scaling.sh print, from one line of
# run.sh's summary (--summary): {variant, baseline, runs, note, median_run,
# m: {<metric>: {med, min, max, ratio, rmin, rmax}}}. Used as
# jq -L tools/bench/e2e 'include "fmt"; ...'.

# A number with d decimals, or "-" for null.
def fmt(d):
  if . == null then "-"
  elif d == 0 then (round | tostring)
  else (. * pow(10; d) | round) as $n | ($n | if . < 0 then -. else . end) as $a | (pow(10; d) | round) as $p
    | (if $n < 0 then "-" else "" end) + (($a / $p | floor) | tostring) + "." + ((($a % $p) + $p) | tostring | .[1:])
  end;

# The median of metric k over the variant's runs.
def val(k; d): .m[k].med | fmt(d);

# Its min-max.
def range(k; d): if .m[k].min == null then "-" else "\(.m[k].min | fmt(d))-\(.m[k].max | fmt(d))" end;

# The ratio of the medians to the baseline's, and in parentheses the min-max
# of the per-round ratios.
def vs(k):
  if .baseline == null or .m[k].ratio == null then "-"
  else "\(.m[k].ratio | fmt(2)) (\(.m[k].rmin | fmt(2))-\(.m[k].rmax | fmt(2)))" end;
