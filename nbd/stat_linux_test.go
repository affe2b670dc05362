package nbd

import "syscall"

type syscallStat = syscall.Stat_t
