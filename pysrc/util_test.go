package pysrc

import "strconv"

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
