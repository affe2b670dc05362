//go:build !linux

package main

import "io"

func mountHelperArgs(argv []string) (string, string, []string, bool) { return "", "", nil, false }

func runMountHelper(src, mnt string, opts []string, errw io.Writer) int { return exitUnsupported }

func quietAfterReady() {}
