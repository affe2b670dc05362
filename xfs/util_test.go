package xfs

import "fmt"

func fmtV(v any) string { return fmt.Sprint(v) }
