//go:build race

package bitlocker

// raceEnabled: under the race detector decryption runs some ten times
// slower, so the read-size test keeps to the sizes that take the parallel
// path, the part the detector is for.
const raceEnabled = true
