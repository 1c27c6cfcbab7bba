# Prints tab-separated lines as an aligned markdown table: the first line is
# the header; the first `left` columns (default 1) are left-aligned, the
# others right-aligned. A row with fewer cells gets empty ones. Used by
# run.sh and ../scaling.sh: awk -F'\t' -v left=2 -f md_table.awk
BEGIN { if (left == "") left = 1 }
{
  rows[NR] = $0
  if (NF > ncols) ncols = NF
  for (i = 1; i <= NF; i++) if (length($i) > width[i]) width[i] = length($i)
}
END {
  for (r = 1; r <= NR; r++) {
    n = split(rows[r], cell, "\t")
    line = "|"
    for (i = 1; i <= ncols; i++) {
      text = i <= n ? cell[i] : ""
      if (i <= left) line = line sprintf(" %-" width[i] "s |", text)
      else line = line sprintf(" %" width[i] "s |", text)
    }
    print line
    if (r == 1) {
      sep = "|"
      for (i = 1; i <= ncols; i++) {
        dashes = ""
        for (k = 0; k < width[i] + (i <= left ? 2 : 1); k++) dashes = dashes "-"
        sep = sep dashes (i <= left ? "" : ":") "|"
      }
      print sep
    }
  }
}
