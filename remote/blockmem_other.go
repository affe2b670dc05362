//go:build !linux

package remote

func hugeAdvise(mem []byte) {}
