//go:build !race

package bitlocker

const raceEnabled = false
