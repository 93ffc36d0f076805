//go:build race

package hostmap

// raceEnabled says the race detector is on; tests then use smaller sizes.
const raceEnabled = true
